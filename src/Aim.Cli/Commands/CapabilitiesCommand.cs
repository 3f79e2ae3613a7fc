using System.CommandLine;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aim.Cli.Commands;

/// <summary>
/// <c>aim capabilities &lt;assembly.dll&gt;</c>: prints the least-privilege manifest the source generator
/// embedded in an assembly (every <c>[SecureAction]</c>: capability, resource, declared and detected
/// risk, JIT flags, method). Reads metadata only: the assembly is never loaded or run.
/// </summary>
internal static class CapabilitiesCommand
{
    /// <summary>The <c>AssemblyMetadata</c> key the generator writes the manifest under.</summary>
    public const string ManifestKey = "Aim.Capabilities";

    public static Command Create()
    {
        var assembly = new Argument<FileInfo>("assembly") { Description = "A .NET assembly compiled with Aim.Sdk (for example bin/Release/net10.0/MyAgent.dll)." };
        var command = new Command("capabilities", "Print the capability manifest of an assembly as JSON (the least-privilege list a reviewer diffs).") { assembly };
        command.SetAction(parseResult => Cli.Run(() =>
        {
            FileInfo file = parseResult.GetValue(assembly)!;
            if (!file.Exists)
            {
                Console.Error.WriteLine($"aim: file_not_found: {file.FullName}");
                return Cli.Error;
            }

            string? manifest;
            try
            {
                manifest = ReadManifest(file.FullName);
            }
            catch (BadImageFormatException)
            {
                Console.Error.WriteLine($"aim: not_an_assembly: {file.Name} is not a .NET assembly.");
                return Cli.Error;
            }

            if (manifest is null)
            {
                Console.Error.WriteLine($"aim: no_manifest: {file.Name} has no [SecureAction] catalog (no secured methods, or not compiled with Aim.Sdk).");
                return Cli.Negative;
            }

            try
            {
                // Printed in snake_case like every aim JSON output (the embedded manifest keeps the generator's names).
                Console.WriteLine(SnakeCase(JsonNode.Parse(manifest))?.ToJsonString(Cli.Json) ?? "null");
            }
            catch (JsonException)
            {
                Console.Error.WriteLine($"aim: manifest_malformed: the {ManifestKey} manifest in {file.Name} is not valid JSON.");
                return Cli.Error;
            }

            return Cli.Ok;
        }));
        return command;
    }

    /// <summary>A copy of <paramref name="node"/> with every member name in snake_case (values untouched).</summary>
    internal static JsonNode? SnakeCase(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Key), SnakeCase(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(SnakeCase)]),
        _ => node?.DeepClone(),
    };

    /// <summary>
    /// The value of <c>[assembly: AssemblyMetadata("Aim.Capabilities", value)]</c>, or null when absent.
    /// </summary>
    /// <exception cref="BadImageFormatException">The file is not a .NET assembly or its metadata is malformed.</exception>
    internal static string? ReadManifest(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        if (!pe.HasMetadata)
        {
            throw new BadImageFormatException("no CLI metadata");
        }

        MetadataReader reader = pe.GetMetadataReader();
        foreach (CustomAttributeHandle handle in reader.GetAssemblyDefinition().GetCustomAttributes())
        {
            CustomAttribute attribute = reader.GetCustomAttribute(handle);
            if (!IsAssemblyMetadataAttribute(reader, attribute.Constructor))
            {
                continue;
            }

            // Blob: prolog 0x0001, then the two constructor strings (key, value) as SerStrings.
            BlobReader blob = reader.GetBlobReader(attribute.Value);
            if (blob.Length < 2 || blob.ReadUInt16() != 1)
            {
                continue;
            }

            string? key = blob.ReadSerializedString();
            string? value = blob.ReadSerializedString();
            if (key == ManifestKey)
            {
                return value;
            }
        }

        return null;
    }

    private static bool IsAssemblyMetadataAttribute(MetadataReader reader, EntityHandle constructor)
    {
        EntityHandle type = constructor.Kind switch
        {
            HandleKind.MemberReference => reader.GetMemberReference((MemberReferenceHandle)constructor).Parent,
            HandleKind.MethodDefinition => reader.GetMethodDefinition((MethodDefinitionHandle)constructor).GetDeclaringType(),
            _ => default,
        };

        return type.Kind switch
        {
            HandleKind.TypeReference => Matches(reader, reader.GetTypeReference((TypeReferenceHandle)type).Namespace, reader.GetTypeReference((TypeReferenceHandle)type).Name),
            HandleKind.TypeDefinition => Matches(reader, reader.GetTypeDefinition((TypeDefinitionHandle)type).Namespace, reader.GetTypeDefinition((TypeDefinitionHandle)type).Name),
            _ => false,
        };
    }

    private static bool Matches(MetadataReader reader, StringHandle ns, StringHandle name) =>
        reader.StringComparer.Equals(name, "AssemblyMetadataAttribute") && reader.StringComparer.Equals(ns, "System.Reflection");
}

using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;

namespace Aim.Sdk.Generators;

/// <summary>Emits <c>Aim.Generated.AimActionCatalog</c> and the <c>Aim.Capabilities</c> assembly manifest.</summary>
internal static class CatalogEmitter
{
    public const string ManifestKey = "Aim.Capabilities";

    /// <summary>Distinct declared actions with a well-formed capability, ordered by method identity (stable diffs).</summary>
    public static List<ActionModel> Actions(ImmutableArray<TargetModel> targets) =>
        targets.Where(t => t.Action.CapabilityValid && t.DeclaresAction)
            .Select(t => t.Action)
            .GroupBy(a => a.Method)
            .Select(g => g.First())
            .OrderBy(a => a.Method, System.StringComparer.Ordinal)
            .ToList();

    /// <summary>The least-privilege manifest: one JSON object, actions sorted by method.</summary>
    public static string Manifest(string assemblyName, IReadOnlyList<ActionModel> actions)
    {
        var sb = new StringBuilder();
        sb.Append("{\"schema\":\"aim.capabilities/v1\",\"assembly\":").Append(SourceWriter.Json(assemblyName)).Append(",\"actions\":[");
        for (int i = 0; i < actions.Count; i++)
        {
            ActionModel a = actions[i];
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append("{\"capability\":").Append(SourceWriter.Json(a.Capability))
                .Append(",\"resource\":").Append(SourceWriter.Json(a.Resource))
                .Append(",\"declaredRisk\":").Append(SourceWriter.Json(SourceWriter.RiskName(a.DeclaredRisk)))
                .Append(",\"detectedRisk\":").Append(SourceWriter.Json(SourceWriter.RiskName(a.DetectedRisk)))
                .Append(",\"effectiveRisk\":").Append(SourceWriter.Json(SourceWriter.RiskName(a.EffectiveRisk)))
                .Append(",\"jitAccess\":").Append(SourceWriter.Bool(a.JitAccess))
                .Append(",\"jitTimeoutSeconds\":").Append(a.JitTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Append(",\"logArguments\":").Append(SourceWriter.Bool(a.LogArguments))
                .Append(",\"logResult\":").Append(SourceWriter.Bool(a.LogResult))
                .Append(",\"description\":").Append(SourceWriter.Json(a.Description))
                .Append(",\"method\":").Append(SourceWriter.Json(a.Method))
                .Append(",\"parameters\":[").Append(string.Join(",", a.ParameterNames.Select(SourceWriter.Json))).Append("]}");
        }

        return sb.Append("]}").ToString();
    }

    public static string Emit(string assemblyName, bool hasModuleInitializer, IReadOnlyList<ActionModel> actions)
    {
        var sb = new StringBuilder(SourceWriter.Header);
        sb.Append("[assembly: global::System.Reflection.AssemblyMetadata(\"").Append(ManifestKey).Append("\", ")
            .Append(SourceWriter.Literal(Manifest(assemblyName, actions))).Append(")]\n\n");
        sb.Append("namespace Aim.Generated\n{\n");
        sb.Append("    /// <summary>The secured actions declared in this assembly (reflection-free; registered with <see cref=\"global::Aim.ActionCatalog\"/> at module load).</summary>\n");
        sb.Append("    ").Append(SourceWriter.GeneratedCode).Append('\n');
        sb.Append("    internal static class AimActionCatalog\n    {\n");
        foreach (ActionModel action in actions)
        {
            sb.Append("        /// <summary>").Append(action.Method.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;")).Append("</summary>\n");
            sb.Append("        internal static readonly global::Aim.ActionDescriptor ").Append(action.FieldName)
                .Append(" = ").Append(SourceWriter.NewDescriptor(action)).Append(";\n\n");
        }

        sb.Append("        private static readonly global::Aim.ActionDescriptor[] s_all = new global::Aim.ActionDescriptor[] { ")
            .Append(string.Join(", ", actions.Select(a => a.FieldName))).Append(" };\n\n");
        sb.Append("        /// <summary>Every secured action of this assembly, ordered by method.</summary>\n");
        sb.Append("        internal static global::System.Collections.Generic.IReadOnlyList<global::Aim.ActionDescriptor> All => s_all;\n");
        if (hasModuleInitializer)
        {
            sb.Append("\n        [global::System.Runtime.CompilerServices.ModuleInitializer]\n");
            sb.Append("        internal static void Register() => global::Aim.ActionCatalog.Register(s_all);\n");
        }

        sb.Append("    }\n}\n");
        return sb.ToString();
    }
}

using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text;

namespace Aim;

/// <summary>How a front door's method resolved to an action (see <see cref="ActionResolver.Resolve(MethodInfo)"/>).</summary>
public enum ActionResolutionKind
{
    /// <summary>The method carries no <c>[SecureAction]</c> (itself, or on a member it implements or overrides): not secured.</summary>
    NotSecured,

    /// <summary>The action was found.</summary>
    Found,

    /// <summary>The method is secured but its action cannot be found: every call is refused (fail closed).</summary>
    Unresolvable,
}

/// <summary>The answer of <see cref="ActionResolver.Resolve(MethodInfo)"/>.</summary>
/// <param name="Kind">What was found.</param>
/// <param name="Action">The action when <see cref="ActionResolutionKind.Found"/>.</param>
/// <param name="Problem">Why the action cannot be found when <see cref="ActionResolutionKind.Unresolvable"/>.</param>
public readonly record struct ActionResolution(ActionResolutionKind Kind, ActionDescriptor? Action = null, string? Problem = null)
{
    /// <summary>The reason code front doors refuse an unresolvable secured method with.</summary>
    public const string UnresolvableReasonCode = "action_unresolvable";

    /// <summary>Whether the method is secured (found or not).</summary>
    public bool IsSecured => Kind != ActionResolutionKind.NotSecured;

    /// <summary>The exception a front door throws (or answers with) for an unresolvable secured method.</summary>
    public ActionDeniedException Refusal(string capability) =>
        new(capability, UnresolvableReasonCode, Problem ?? "The secured method's action cannot be resolved, so it is refused.");
}

/// <summary>
/// The one rule every front door uses to find a method's action (generated interceptors use the descriptors directly;
/// Microsoft.Extensions.AI functions, Semantic Kernel, ASP.NET Core endpoints and controllers, MCP tools and the gateway
/// come through here with the <see cref="MethodInfo"/> their framework keeps). It looks up the generated
/// <see cref="ActionCatalog"/> by the generator's method identity, for the method itself and then for the interface
/// members it implements and the base members it overrides (where <c>[SecureAction]</c> must sit so calls through them are
/// guarded too). A method that carries <c>[SecureAction]</c> and is not in the catalog is <see cref="ActionResolutionKind.Unresolvable"/>:
/// refused, never passed through. Reflection runs once per method (results are cached), never per call.
/// </summary>
public static class ActionResolver
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<MethodInfo, ActionResolution> Resolved = new();

    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(bool)] = "bool", [typeof(byte)] = "byte", [typeof(sbyte)] = "sbyte", [typeof(char)] = "char",
        [typeof(short)] = "short", [typeof(ushort)] = "ushort", [typeof(int)] = "int", [typeof(uint)] = "uint",
        [typeof(long)] = "long", [typeof(ulong)] = "ulong", [typeof(float)] = "float", [typeof(double)] = "double",
        [typeof(decimal)] = "decimal", [typeof(string)] = "string", [typeof(object)] = "object",
        [typeof(nint)] = "nint", [typeof(nuint)] = "nuint",
    };

    /// <summary>
    /// The catalog identity of a method, in the generator's format: <c>Namespace.Type.Method(string, int)</c>
    /// (C# keywords for special types, nested types joined with dots, <c>T?</c> for nullable value types).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="method"/> is null.</exception>
    public static string IdentityOf(MethodInfo method)
    {
        ArgumentNullException.ThrowIfNull(method);
        var text = new StringBuilder();
        if (method.DeclaringType is { } declaring)
        {
            AppendType(text, declaring.IsGenericType ? declaring.GetGenericTypeDefinition() : declaring);
            text.Append('.');
        }

        text.Append(method.Name).Append('(');
        var parameters = method.GetParameters();
        for (int i = 0; i < parameters.Length; i++)
        {
            if (i > 0)
            {
                text.Append(", ");
            }

            var parameter = parameters[i];
            var type = parameter.ParameterType;
            if (type.IsByRef)
            {
                text.Append(parameter.IsOut ? "out " : parameter.IsIn ? "in " : "ref ");
                type = type.GetElementType()!;
            }

            AppendType(text, type);
        }

        return text.Append(')').ToString();
    }

    /// <summary>Resolves a method to its action (cached per method).</summary>
    public static ActionResolution Resolve(MethodInfo? method) =>
        method is null ? default : Resolved.GetOrAdd(method, ResolveUncached);

    /// <summary>
    /// Resolves an action a framework knows only by its declared <c>[SecureAction]</c> and a member name (the MCP SDK keeps a
    /// tool method's attributes and its derived tool name, not the method): the catalog entry with the same capability and
    /// resource whose method name matches <paramref name="memberName"/> ignoring case, <c>_</c>/<c>-</c> separators and an
    /// <c>Async</c> suffix. No match, or more than one, is <see cref="ActionResolutionKind.Unresolvable"/>.
    /// </summary>
    public static ActionResolution Resolve(SecureActionAttribute declared, string memberName)
    {
        ArgumentNullException.ThrowIfNull(declared);
        ArgumentNullException.ThrowIfNull(memberName);
        string key = Simplify(memberName);
        ActionDescriptor? found = null;
        int matches = 0;
        foreach (var candidate in ActionCatalog.All)
        {
            if (candidate.CapabilityName == declared.Capability && candidate.Resource == declared.Resource && MethodName(candidate.Method) is { } name
                && (Simplify(name) == key || Simplify(name) == key + "async"))
            {
                found = candidate;
                matches++;
            }
        }

        return matches == 1
            ? new ActionResolution(ActionResolutionKind.Found, found)
            : new ActionResolution(ActionResolutionKind.Unresolvable, Problem: matches == 0
                ? $"'{memberName}' carries [SecureAction(\"{declared.Capability}\")] but no method of that name is in the generated catalog, so it is refused."
                : $"'{memberName}' matches {matches} secured methods (overloads?), so its action is ambiguous and it is refused; map it explicitly.");
    }

    /// <summary>
    /// True with the action when <paramref name="method"/> resolves; false when it is not secured.
    /// </summary>
    /// <exception cref="ActionDeniedException">Code <c>action_unresolvable</c>: the method is secured but its action cannot be found.</exception>
    public static bool TryFind(MethodInfo? method, [NotNullWhen(true)] out ActionDescriptor? action)
    {
        var resolution = Resolve(method);
        if (resolution.Kind == ActionResolutionKind.Unresolvable)
        {
            throw resolution.Refusal(method!.Name);
        }

        action = resolution.Action;
        return action is not null;
    }

    private static ActionResolution ResolveUncached(MethodInfo method)
    {
        foreach (var candidate in Declarations(method))
        {
            // Catalogs register from module initializers, which reflection alone does not run: run the declaring module's now.
            System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(candidate.Module.ModuleHandle);
            if (ActionCatalog.TryGet(IdentityOf(candidate), out var action))
            {
                return new ActionResolution(ActionResolutionKind.Found, action);
            }
        }

        SecureActionAttribute? attribute = null;
        foreach (var candidate in Declarations(method))
        {
            attribute ??= candidate.GetCustomAttribute<SecureActionAttribute>(inherit: false);
        }

        if (attribute is null)
        {
            return new ActionResolution(ActionResolutionKind.NotSecured);
        }

        if (IsCompilerGenerated(method))
        {
            // A lambda handler ([SecureAction] on a lambda in a minimal API): the generator has no call site or catalog entry
            // for it, so its own attribute is the declaration. Read once, here.
            return new ActionResolution(ActionResolutionKind.Found, new ActionDescriptor(
                attribute.Capability, attribute.Resource, attribute.RiskLevel, attribute.JitAccess, attribute.JitTimeoutSeconds,
                attribute.LogArguments, attribute.LogResult, attribute.Description, IdentityOf(method),
                [.. method.GetParameters().Select(p => p.Name ?? string.Empty)], attribute.CostUsd));
        }

        return new ActionResolution(ActionResolutionKind.Unresolvable, Problem:
            $"'{IdentityOf(method)}' carries [SecureAction(\"{attribute.Capability}\")] but its action is not in the generated catalog " +
            "(is its assembly compiled with the Aim.Sdk generator?), so it is refused.");
    }

    // The method, then the base members it overrides (nearest first), then the interface members each of those implements in
    // its own type (ordered by identity): where [SecureAction] may sit. The generator walks the same order (SecureActionSymbols.Declarations).
    private static IEnumerable<MethodInfo> Declarations(MethodInfo method)
    {
        var definition = Definition(method);
        var chain = new List<MethodInfo> { definition };
        for (var current = definition; ;)
        {
            MethodInfo baseDefinition;
            try
            {
                baseDefinition = current.GetBaseDefinition();
            }
            catch (NotSupportedException)
            {
                break;
            }

            if (baseDefinition == current || baseDefinition.DeclaringType is null)
            {
                break;
            }

            // Walk one level at a time so an attribute on an intermediate override is found before the root's.
            var parent = current.DeclaringType?.BaseType;
            MethodInfo? next = null;
            while (parent is not null && next is null)
            {
                next = parent.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                    .FirstOrDefault(m => m.GetBaseDefinition() == baseDefinition);
                parent = parent.BaseType;
            }

            if (next is null)
            {
                break;
            }

            chain.Add(Definition(next));
            current = next;
        }

        var seen = new HashSet<MethodInfo>(chain);
        var result = new List<MethodInfo>(chain);
        foreach (var member in chain)
        {
            foreach (var declared in ImplementedInterfaceMembers(member).OrderBy(IdentityOf, StringComparer.Ordinal))
            {
                if (seen.Add(declared))
                {
                    result.Add(declared);
                }
            }
        }

        return result;
    }

    // The interface members (generic definitions) that a method implements in its own declaring type.
    private static IEnumerable<MethodInfo> ImplementedInterfaceMembers(MethodInfo member)
    {
        if (member.IsStatic || member.DeclaringType is not { IsInterface: false } type)
        {
            yield break;
        }

        foreach (var iface in type.GetInterfaces())
        {
            InterfaceMapping map;
            try
            {
                map = type.GetInterfaceMap(iface);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                continue;
            }

            for (int i = 0; i < map.TargetMethods.Length; i++)
            {
                if (map.TargetMethods[i] == member || ForwardsTo(map.TargetMethods[i], member))
                {
                    yield return Definition(map.InterfaceMethods[i]);
                }
            }
        }
    }

    // When the interface member's signature carries modifiers the implementing method's lacks (an `in` parameter, a
    // `ref readonly` return), the C# compiler implements it with a private stub named after the interface member that only
    // forwards to the method, and the interface map names the stub. Recognized by its body: load the arguments, call, return.
    private static bool ForwardsTo(MethodInfo stub, MethodInfo target)
    {
        if (stub.DeclaringType != target.DeclaringType || !stub.IsPrivate || !stub.IsFinal || !stub.Name.Contains('.', StringComparison.Ordinal))
        {
            return false;
        }

        byte[]? il;
        try
        {
            il = stub.GetMethodBody()?.GetILAsByteArray();
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException)
        {
            return false;
        }

        if (il is null)
        {
            return false;
        }

        int at = 0;
        while (at < il.Length)
        {
            if (il[at] is >= 0x02 and <= 0x05)
            {
                at += 1; // ldarg.0 .. ldarg.3
            }
            else if (il[at] == 0x0E)
            {
                at += 2; // ldarg.s
            }
            else if (il[at] == 0xFE && at + 1 < il.Length && il[at + 1] == 0x09)
            {
                at += 4; // ldarg
            }
            else
            {
                break;
            }
        }

        // call or callvirt with a 4-byte token, then ret, and nothing else.
        if (at + 6 != il.Length || il[at] is not (0x28 or 0x6F) || il[at + 5] != 0x2A)
        {
            return false;
        }

        MethodBase? called;
        try
        {
            called = stub.Module.ResolveMethod(
                System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(il.AsSpan(at + 1, 4)),
                stub.DeclaringType?.IsGenericType == true ? stub.DeclaringType.GetGenericArguments() : null,
                stub.IsGenericMethod ? stub.GetGenericArguments() : null);
        }
        catch (ArgumentException)
        {
            return false;
        }

        return called is not null && called.Module == target.Module && called.MetadataToken == target.MetadataToken;
    }

    // The generator names a method as declared (OriginalDefinition): Box<T>.Put(T), not Box<string>.Put(string).
    private static MethodInfo Definition(MethodInfo method)
    {
        if (method.IsGenericMethod && !method.IsGenericMethodDefinition)
        {
            method = method.GetGenericMethodDefinition();
        }

        return method.DeclaringType is { IsGenericType: true, IsGenericTypeDefinition: false } generic
            ? (MethodInfo)MethodBase.GetMethodFromHandle(method.MethodHandle, generic.GetGenericTypeDefinition().TypeHandle)!
            : method;
    }

    // "Shop.Tools.LookupOrder(string)" -> "LookupOrder"
    private static string? MethodName(string identity)
    {
        int open = identity.IndexOf('(', StringComparison.Ordinal);
        int dot = open < 0 ? -1 : identity.LastIndexOf('.', open);
        return dot < 0 ? null : identity[(dot + 1)..open];
    }

    // Frameworks derive names in snake_case or kebab-case: compare without separators or case.
    private static string Simplify(string name) => new([.. name.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant)]);

    private static bool IsCompilerGenerated(MethodInfo method) =>
        method.Name.Contains('<', StringComparison.Ordinal) || method.DeclaringType?.Name.Contains('<', StringComparison.Ordinal) == true;

    /// <summary>
    /// Orders named arguments as the action declares its parameters, so the audit digest is the same whichever
    /// front door made the call. Arguments the action does not name are appended in their own order.
    /// </summary>
    public static object?[] OrderArguments(ActionDescriptor action, IEnumerable<KeyValuePair<string, object?>> arguments)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(arguments);
        var named = new Dictionary<string, object?>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var pair in arguments)
        {
            if (named.TryAdd(pair.Key, pair.Value))
            {
                order.Add(pair.Key);
            }
        }

        var result = new List<object?>(Math.Max(action.ParameterNames.Count, named.Count));
        foreach (var name in action.ParameterNames)
        {
            result.Add(named.Remove(name, out var value) ? value : null);
        }

        foreach (var name in order)
        {
            if (named.TryGetValue(name, out var value))
            {
                result.Add(value);
            }
        }

        return [.. result];
    }

    private static void AppendType(StringBuilder text, Type type)
    {
        if (Keywords.TryGetValue(type, out var keyword))
        {
            text.Append(keyword);
            return;
        }

        if (type.IsArray)
        {
            AppendType(text, type.GetElementType()!);
            text.Append('[').Append(',', type.GetArrayRank() - 1).Append(']');
            return;
        }

        if (type.IsGenericParameter)
        {
            text.Append(type.Name);
            return;
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            AppendType(text, underlying);
            text.Append('?');
            return;
        }

        if (type.IsNested && type.DeclaringType is { } outer)
        {
            AppendType(text, outer.IsGenericType && !outer.IsGenericTypeDefinition ? outer.GetGenericTypeDefinition() : outer);
            text.Append('.');
        }
        else if (!string.IsNullOrEmpty(type.Namespace))
        {
            text.Append(type.Namespace).Append('.');
        }

        string name = type.Name;
        int tick = name.IndexOf('`', StringComparison.Ordinal);
        text.Append(tick < 0 ? name : name[..tick]);
        if (type.IsGenericType)
        {
            var arguments = type.GetGenericArguments();
            int own = arguments.Length - (type.IsNested && type.DeclaringType!.IsGenericType ? type.DeclaringType.GetGenericArguments().Length : 0);
            if (own > 0)
            {
                text.Append('<');
                for (int i = arguments.Length - own; i < arguments.Length; i++)
                {
                    if (i > arguments.Length - own)
                    {
                        text.Append(", ");
                    }

                    AppendType(text, arguments[i]);
                }

                text.Append('>');
            }
        }
    }
}

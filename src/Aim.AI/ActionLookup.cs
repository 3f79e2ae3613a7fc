using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text;

namespace Aim.AI;

/// <summary>
/// Finds the <see cref="ActionDescriptor"/> the generator registered for a method, from a <see cref="MethodInfo"/>
/// (the handle frameworks keep for tools they invoke by reflection). Used once, when a tool is wrapped, never per call.
/// </summary>
public static class ActionLookup
{
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

    /// <summary>
    /// Finds the action for <paramref name="method"/>: the catalog entry by exact identity, else by declaring type and
    /// name when exactly one overload is registered, else (for methods the generator does not see, such as lambdas)
    /// a descriptor built from the method's own <c>[SecureAction]</c>. False when the method has none.
    /// </summary>
    public static bool TryFind(MethodInfo? method, [NotNullWhen(true)] out ActionDescriptor? action)
    {
        action = null;
        if (method is null)
        {
            return false;
        }

        if (ActionCatalog.TryGet(IdentityOf(method), out action))
        {
            return true;
        }

        if (method.DeclaringType is not null)
        {
            var type = new StringBuilder();
            AppendType(type, method.DeclaringType.IsGenericType ? method.DeclaringType.GetGenericTypeDefinition() : method.DeclaringType);
            if (ActionCatalog.TryGet(type.ToString(), method.Name, out action))
            {
                return true;
            }
        }

        if (method.GetCustomAttributes(typeof(SecureActionAttribute), inherit: true) is [SecureActionAttribute attribute, ..])
        {
            action = new ActionDescriptor(
                attribute.Capability,
                attribute.Resource,
                attribute.RiskLevel,
                attribute.JitAccess,
                attribute.JitTimeoutSeconds,
                attribute.LogArguments,
                attribute.LogResult,
                attribute.Description,
                IdentityOf(method),
                [.. method.GetParameters().Select(p => p.Name ?? string.Empty)]);
            return true;
        }

        return false;
    }

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

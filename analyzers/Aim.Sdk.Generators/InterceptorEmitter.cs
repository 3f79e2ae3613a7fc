using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Aim.Sdk.Generators;

/// <summary>
/// Emits the interceptors: one method per called <c>[SecureAction]</c> method, carrying one
/// <c>[InterceptsLocation]</c> per call site, whose body runs the call through <c>AimRuntime</c>.
/// </summary>
internal static class InterceptorEmitter
{
    public static string Emit(ImmutableArray<CallSiteModel> callSites)
    {
        var groups = callSites
            .GroupBy(c => c.Target.Key)
            .OrderBy(g => g.Key, System.StringComparer.Ordinal)
            .ToList();

        var sb = new StringBuilder(SourceWriter.Header);
        sb.Append(@"
namespace System.Runtime.CompilerServices
{
    [global::System.AttributeUsage(global::System.AttributeTargets.Method, AllowMultiple = true)]
    file sealed class InterceptsLocationAttribute : global::System.Attribute
    {
        public InterceptsLocationAttribute(int version, string data)
        {
            _ = version;
            _ = data;
        }
    }
}

namespace Aim.Generated
{
    ").Append(SourceWriter.GeneratedCode).Append(@"
    file static class AimInterceptors
    {
");

        // Descriptors the catalog does not hold: actions declared in referenced assemblies, and actions
        // whose capability is malformed (a property, so the constructor's CapabilityFormatException
        // surfaces at each call instead of breaking the type initializer).
        var local = new HashSet<string>();
        foreach (var group in groups)
        {
            InterceptorModel target = group.First().Target;
            if (target.UseCatalogField || !local.Add(target.Action.FieldName))
            {
                continue;
            }

            string kind = target.Action.CapabilityValid ? " = " : " => ";
            string modifiers = target.Action.CapabilityValid ? "private static readonly " : "private static ";
            sb.Append("        ").Append(modifiers).Append("global::Aim.ActionDescriptor ").Append(target.Action.FieldName)
                .Append(kind).Append(SourceWriter.NewDescriptor(target.Action)).Append(";\n\n");
        }

        int index = 0;
        foreach (var group in groups)
        {
            EmitInterceptor(sb, index++, group.First().Target, group
                .OrderBy(c => c.LocationData, System.StringComparer.Ordinal)
                .GroupBy(c => c.LocationData).Select(g => g.First()).ToList());
        }

        sb.Append("    }\n}\n");
        return sb.ToString();
    }

    private static void EmitInterceptor(StringBuilder sb, int index, InterceptorModel m, List<CallSiteModel> sites)
    {
        foreach (CallSiteModel site in sites)
        {
            sb.Append("        [global::System.Runtime.CompilerServices.InterceptsLocation(")
                .Append(site.LocationVersion.ToString(CultureInfo.InvariantCulture)).Append(", ")
                .Append(SourceWriter.Literal(site.LocationData)).Append(")] // ")
                .Append(site.DisplayLocation.Replace('\n', ' ').Replace('\r', ' ')).Append('\n');
        }

        string typeParams = m.TypeParameters.Count == 0 ? string.Empty : "<" + string.Join(", ", m.TypeParameters.Select(t => t.Name)) + ">";
        sb.Append("        internal static ").Append(m.ReturnType).Append(" Intercept")
            .Append(index.ToString(CultureInfo.InvariantCulture)).Append('_').Append(Naming.Sanitize(m.Name)).Append(typeParams).Append('(');

        var signature = new List<string>();
        if (!m.IsStatic)
        {
            signature.Add("this " + (m.ReceiverRefKind.Length > 0 ? m.ReceiverRefKind + " " : string.Empty) + m.ContainingType + " @this");
        }

        for (int i = 0; i < m.Parameters.Count; i++)
        {
            ParameterModel p = m.Parameters[i];
            string prefix = (i == 0 && m.IsExtension ? "this " : string.Empty)
                + (p.IsParams ? "params " : string.Empty)
                + (p.RefKind.Length > 0 ? p.RefKind + " " : string.Empty);
            signature.Add(prefix + p.Type + " " + p.Name);
        }

        sb.Append(string.Join(", ", signature)).Append(")\n");
        foreach (TypeParameterModel tp in m.TypeParameters)
        {
            if (tp.Constraints.Length > 0)
            {
                sb.Append("            ").Append(tp.Constraints).Append('\n');
            }
        }

        sb.Append("        {\n");

        // Lambdas cannot capture ref/out/in parameters or a by-ref struct receiver: copy into locals,
        // pass those, write back afterwards (in a finally, as a direct call would leave them).
        var writeBack = new List<string>();
        var callArgs = new List<string>();
        var argValues = new List<string>();
        for (int i = 0; i < m.Parameters.Count; i++)
        {
            ParameterModel p = m.Parameters[i];
            string local = "__aim_p" + i.ToString(CultureInfo.InvariantCulture);
            switch (p.RefKind)
            {
                case "ref":
                    sb.Append("            var ").Append(local).Append(" = ").Append(p.Name).Append(";\n");
                    callArgs.Add("ref " + local);
                    argValues.Add(local);
                    writeBack.Add(p.Name + " = " + local + ";");
                    break;
                case "out":
                    sb.Append("            ").Append(p.Type).Append(' ').Append(local).Append(" = default!;\n");
                    callArgs.Add("out " + local);
                    argValues.Add("null");
                    writeBack.Add(p.Name + " = " + local + ";");
                    break;
                case "in":
                case "ref readonly":
                    sb.Append("            var ").Append(local).Append(" = ").Append(p.Name).Append(";\n");
                    callArgs.Add("in " + local);
                    argValues.Add(local);
                    break;
                default:
                    callArgs.Add(p.Name);
                    argValues.Add(p.Name);
                    break;
            }
        }

        string receiver = "@this";
        if (!m.IsStatic && m.ReceiverRefKind.Length > 0)
        {
            sb.Append("            var __aim_self = @this;\n");
            receiver = "__aim_self";
            if (m.ReceiverRefKind == "ref")
            {
                writeBack.Add("@this = __aim_self;");
            }
        }

        string typeArgs = m.MethodTypeParameters.Count == 0 ? string.Empty : "<" + string.Join(", ", m.MethodTypeParameters) + ">";
        string call = (m.IsStatic ? m.ContainingType : receiver) + "." + m.Name + typeArgs + "(" + string.Join(", ", callArgs) + ")";
        string descriptor = m.UseCatalogField ? "global::Aim.Generated.AimActionCatalog." + m.Action.FieldName : m.Action.FieldName;
        string args = argValues.Count == 0 ? "null" : "new object?[] { " + string.Join(", ", argValues) + " }";

        string invoke = m.Shape switch
        {
            ReturnShape.Void => "Invoke(",
            ReturnShape.Value => "Invoke<" + m.ResultType + ">(",
            ReturnShape.Task => "InvokeAsync(",
            ReturnShape.TaskOfT => "InvokeAsync<" + m.ResultType + ">(",
            ReturnShape.ValueTask => "InvokeValueTaskAsync(",
            _ => "InvokeValueTaskAsync<" + m.ResultType + ">(",
        };
        string statement = (m.Shape == ReturnShape.Void ? string.Empty : "return ")
            + "global::Aim.AimRuntime.Current." + invoke + descriptor + ", " + args + ", () => " + call + ");";

        string indent = "            ";
        if (writeBack.Count > 0)
        {
            sb.Append("            try\n            {\n");
            indent = "                ";
        }

        sb.Append(indent).Append(statement).Append('\n');
        if (writeBack.Count > 0)
        {
            sb.Append("            }\n            finally\n            {\n");
            foreach (string line in writeBack)
            {
                sb.Append("                ").Append(line).Append('\n');
            }

            sb.Append("            }\n");
        }

        sb.Append("        }\n\n");
    }
}

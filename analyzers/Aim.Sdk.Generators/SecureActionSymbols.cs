using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Aim.Sdk.Generators;

/// <summary>Reads <c>[SecureAction]</c> from Roslyn symbols into plain models, and decides what can be intercepted.</summary>
internal static class SecureActionSymbols
{
    public const string AttributeMetadataName = "Aim.SecureActionAttribute";

    private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    private static readonly SymbolDisplayFormat IdentityTypeFormat = new(
        globalNamespaceStyle: SymbolDisplayGlobalNamespaceStyle.Omitted,
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
        genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.UseSpecialTypes);

    /// <summary>True when the attribute is <c>Aim.SecureActionAttribute</c> (compared by name: no compilation lookup on hot paths).</summary>
    public static bool IsSecureAction(AttributeData attribute) =>
        attribute.AttributeClass is { Name: "SecureActionAttribute", ContainingNamespace: { Name: "Aim", ContainingNamespace.IsGlobalNamespace: true } };

    /// <summary>The <c>[SecureAction]</c> written on this member itself, if any.</summary>
    public static AttributeData? OwnAttribute(IMethodSymbol method)
    {
        foreach (AttributeData attribute in method.OriginalDefinition.GetAttributes())
        {
            if (IsSecureAction(attribute))
            {
                return attribute;
            }
        }

        return null;
    }

    /// <summary>
    /// The attribute that secures calls of <paramref name="method"/> and the member that declares the action:
    /// the first of <see cref="Declarations"/> that carries <c>[SecureAction]</c> and does not inherit one itself.
    /// An implementation or override that repeats the attribute restates that declaration (AIM008 when the arguments
    /// differ), so the interface or base member stays the action's one identity. Null when the method is not secured.
    /// </summary>
    public static AttributeData? FindAttribute(IMethodSymbol method, out IMethodSymbol declaring)
    {
        IMethodSymbol[] declarations = Declarations(method);
        foreach (IMethodSymbol candidate in declarations)
        {
            AttributeData? attribute = OwnAttribute(candidate);
            if (attribute is not null && DeclaresAction(candidate))
            {
                declaring = candidate;
                return attribute;
            }
        }

        declaring = declarations[0];
        return null;
    }

    /// <summary>
    /// True when this member carries <c>[SecureAction]</c> and none of the members it overrides or implements does:
    /// it declares an action of its own (and gets a catalog entry). A repeated attribute does not.
    /// </summary>
    public static bool DeclaresAction(IMethodSymbol method)
    {
        IMethodSymbol[] declarations = Declarations(method);
        if (OwnAttribute(declarations[0]) is null)
        {
            return false;
        }

        for (int i = 1; i < declarations.Length; i++)
        {
            if (OwnAttribute(declarations[i]) is not null)
            {
                return false;
            }
        }

        return true;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IMethodSymbol, IMethodSymbol[]> DeclarationsCache = new();

    /// <summary>
    /// Where <c>[SecureAction]</c> may sit for calls of <paramref name="method"/>, nearest first (original definitions):
    /// the method, the members it overrides (nearest first), then the interface members that each of those implements
    /// in its own type (ordered by identity). <c>Aim.ActionResolver</c> walks the same order at run time.
    /// </summary>
    public static IMethodSymbol[] Declarations(IMethodSymbol method)
    {
        IMethodSymbol definition = (method.ReducedFrom ?? method).OriginalDefinition;
        return DeclarationsCache.GetValue(definition, static m =>
        {
            var result = new List<IMethodSymbol> { m };
            if (m.IsStatic || !MaySecure(m.ContainingAssembly))
            {
                return result.ToArray();
            }

            for (IMethodSymbol? current = m.OverriddenMethod?.OriginalDefinition; current is not null; current = current.OverriddenMethod?.OriginalDefinition)
            {
                if (result.Contains(current, SymbolEqualityComparer.Default))
                {
                    break;
                }

                result.Add(current);
            }

            int chain = result.Count;
            for (int i = 0; i < chain; i++)
            {
                foreach (IMethodSymbol member in ImplementedInterfaceMembers(result[i]))
                {
                    if (!result.Contains(member, SymbolEqualityComparer.Default))
                    {
                        result.Add(member);
                    }
                }
            }

            return result.ToArray();
        });
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IAssemblySymbol, object> MaySecureCache = new();

    /// <summary>
    /// False when no type of the assembly can have a secured member or base or interface: it neither declares
    /// <c>Aim.SecureActionAttribute</c> nor references (transitively) an assembly that does. Base types and interfaces
    /// live in the assembly or its references, so the BCL's call targets skip the interface walk entirely.
    /// </summary>
    private static bool MaySecure(IAssemblySymbol? assembly) =>
        assembly is not null && (bool)MaySecureCache.GetValue(assembly, a => ComputeMaySecure(a, new HashSet<IAssemblySymbol>(SymbolEqualityComparer.Default)));

    private static bool ComputeMaySecure(IAssemblySymbol assembly, HashSet<IAssemblySymbol> visiting)
    {
        if (MaySecureCache.TryGetValue(assembly, out object? known))
        {
            return (bool)known;
        }

        if (!visiting.Add(assembly))
        {
            return false;
        }

        if (assembly.GetTypeByMetadataName(AttributeMetadataName) is not null)
        {
            return true;
        }

        foreach (IModuleSymbol module in assembly.Modules)
        {
            foreach (IAssemblySymbol referenced in module.ReferencedAssemblySymbols)
            {
                if (ComputeMaySecure(referenced, visiting))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The interface members (original definitions, ordered by identity) that <paramref name="method"/> implements in its own type.</summary>
    public static List<IMethodSymbol> ImplementedInterfaceMembers(IMethodSymbol method)
    {
        method = method.OriginalDefinition;
        var result = new List<IMethodSymbol>();
        if (method.IsStatic || method.ContainingType is not { TypeKind: not TypeKind.Interface } type)
        {
            return result;
        }

        if (method.MethodKind == MethodKind.ExplicitInterfaceImplementation)
        {
            result.AddRange(method.ExplicitInterfaceImplementations.Select(m => m.OriginalDefinition));
        }
        else if (method.MethodKind == MethodKind.Ordinary && method.DeclaredAccessibility == Accessibility.Public)
        {
            foreach (INamedTypeSymbol iface in type.AllInterfaces)
            {
                foreach (ISymbol member in iface.GetMembers(method.Name))
                {
                    if (member is IMethodSymbol { IsStatic: false } candidate
                        && SymbolEqualityComparer.Default.Equals(type.FindImplementationForInterfaceMember(candidate)?.OriginalDefinition, method))
                    {
                        result.Add(candidate.OriginalDefinition);
                    }
                }
            }
        }

        result.Sort((a, b) => string.CompareOrdinal(Identity(a), Identity(b)));
        return result;
    }

    /// <summary>True when two declarations describe the same action (every attribute value equal; identity and parameter names may differ).</summary>
    public static bool SameAction(ActionModel a, ActionModel b) =>
        a.Capability == b.Capability
        && a.Resource == b.Resource
        && a.DeclaredRisk == b.DeclaredRisk
        && a.JitAccess == b.JitAccess
        && a.JitTimeoutSeconds == b.JitTimeoutSeconds
        && a.LogArguments == b.LogArguments
        && a.LogResult == b.LogResult
        && a.Description == b.Description
        && a.CostUsd.Equals(b.CostUsd);

    /// <summary>The method identity used by the catalog, for example <c>Shop.RefundAgent.RefundAsync(string, decimal)</c>.</summary>
    public static string Identity(IMethodSymbol method)
    {
        method = method.OriginalDefinition;
        string parameters = string.Join(", ", method.Parameters.Select(p =>
            (p.RefKind switch
            {
                RefKind.Ref => "ref ",
                RefKind.Out => "out ",
                RefKind.In => "in ",
                RefKind.RefReadOnlyParameter => "ref readonly ",
                _ => string.Empty,
            }) + p.Type.ToDisplayString(IdentityTypeFormat)));
        string type = method.ContainingType?.ToDisplayString(IdentityTypeFormat) ?? string.Empty;
        return type + "." + method.Name + "(" + parameters + ")";
    }

    /// <summary>Builds the descriptor model from the attribute on <paramref name="declaring"/>.</summary>
    public static ActionModel ReadAction(AttributeData attribute, IMethodSymbol declaring)
    {
        string capability = attribute.ConstructorArguments.Length > 0 && attribute.ConstructorArguments[0].Value is string c ? c : string.Empty;
        string? resource = null;
        string? description = null;
        int risk = 0;
        int jitTimeout = 300;
        bool jit = false, logArgs = false, logResult = false;
        double cost = 0;
        foreach (KeyValuePair<string, TypedConstant> named in attribute.NamedArguments)
        {
            object? value = named.Value.Value;
            switch (named.Key)
            {
                case "Resource": resource = value as string; break;
                case "Description": description = value as string; break;
                case "RiskLevel" when value is int r: risk = r; break;
                case "JitTimeoutSeconds" when value is int t: jitTimeout = t; break;
                case "JitAccess" when value is bool b: jit = b; break;
                case "LogArguments" when value is bool b: logArgs = b; break;
                case "LogResult" when value is bool b: logResult = b; break;
                case "CostUsd" when value is double d: cost = d; break;
            }
        }

        bool valid = CapabilityRules.IsWellFormed(capability);
        int detected = valid ? (int)CapabilityRules.Detect(capability) : (int)Risk.Medium;
        return new ActionModel(
            capability,
            resource,
            risk,
            detected,
            valid,
            jit,
            jitTimeout,
            logArgs,
            logResult,
            description,
            Identity(declaring),
            declaring.Parameters.Select(p => p.Name).ToEquatableArray(),
            cost);
    }

    /// <summary>
    /// Why calls of this method cannot be intercepted (AIM006), or null when they can. The generator
    /// skips such methods, so their calls stay plain calls and the error makes the build fail.
    /// </summary>
    public static string? UninterceptableReason(IMethodSymbol method)
    {
        switch (method.MethodKind)
        {
            case MethodKind.Ordinary:
            case MethodKind.ReducedExtension:
                break;
            case MethodKind.ExplicitInterfaceImplementation:
                return "an explicit interface implementation is only called through the interface; put [SecureAction] on the interface method";
            case MethodKind.LocalFunction:
                return "a local function is not visible to generated code";
            case MethodKind.AnonymousFunction:
                return "a lambda has no call site to intercept";
            default:
                return "a " + method.MethodKind + " is not called through an interceptable method call";
        }

        for (ISymbol? s = method; s is not null and not INamespaceSymbol; s = s.ContainingSymbol)
        {
            if (s.DeclaredAccessibility is Accessibility.Private or Accessibility.Protected or Accessibility.ProtectedAndInternal)
            {
                return "'" + s.Name + "' is " + s.DeclaredAccessibility.ToString().ToLowerInvariant()
                    + " and generated code cannot call it; make it internal or public";
            }
        }

        if (method.ReturnsByRef || method.ReturnsByRefReadonly)
        {
            return "a ref return cannot flow through the runtime's delegate";
        }

        if (method.IsVararg)
        {
            return "__arglist methods cannot be forwarded";
        }

        if (IsUnsupportedType(method.ReturnType) || method.Parameters.Any(p => IsUnsupportedType(p.Type)))
        {
            return "ref struct and pointer types cannot be captured by the runtime's delegate";
        }

        if (!method.IsStatic && method.ContainingType is { IsRefLikeType: true })
        {
            return "a ref struct receiver cannot be captured by the runtime's delegate";
        }

        if (method.IsStatic && method.ContainingType is { TypeKind: TypeKind.Interface } && (method.IsAbstract || method.IsVirtual))
        {
            return "static abstract/virtual interface members are called through type parameters, which interceptors cannot target";
        }

        var names = new HashSet<string>();
        foreach (ITypeParameterSymbol tp in AllTypeParameters(method))
        {
            if (tp.AllowsRefLikeType)
            {
                return "type parameters that allow ref structs cannot be captured by the runtime's delegate";
            }

            if (!names.Add(tp.Name))
            {
                return "type parameter '" + tp.Name + "' is declared both on the method and an enclosing type; rename one";
            }
        }

        return null;
    }

    private static bool IsUnsupportedType(ITypeSymbol type) =>
        type.IsRefLikeType || type.TypeKind is TypeKind.Pointer or TypeKind.FunctionPointer;

    /// <summary>Type parameters of every enclosing type (outermost first), then of the method.</summary>
    public static List<ITypeParameterSymbol> AllTypeParameters(IMethodSymbol method)
    {
        var result = new List<ITypeParameterSymbol>();
        var types = new Stack<INamedTypeSymbol>();
        for (INamedTypeSymbol? t = method.ContainingType; t is not null; t = t.ContainingType)
        {
            types.Push(t);
        }

        foreach (INamedTypeSymbol t in types)
        {
            result.AddRange(t.TypeParameters);
        }

        result.AddRange(method.TypeParameters);
        return result;
    }

    /// <summary>Builds the interceptor model for a call target (the method as declared, unreduced).</summary>
    public static InterceptorModel ReadInterceptor(IMethodSymbol target, ActionModel action, bool declaredInCompilation)
    {
        IMethodSymbol method = (target.ReducedFrom ?? target).OriginalDefinition;
        var typeParameters = AllTypeParameters(method)
            .Select(tp => new TypeParameterModel(tp.Name, Constraints(tp)))
            .ToEquatableArray();
        var parameters = method.Parameters.Select((p, i) => new ParameterModel(
            SyntaxFacts(p.Name) ? "@" + p.Name : "p" + i,
            p.Type.ToDisplayString(TypeFormat),
            p.RefKind switch
            {
                RefKind.Ref => "ref",
                RefKind.Out => "out",
                RefKind.In => "in",
                RefKind.RefReadOnlyParameter => "ref readonly",
                _ => string.Empty,
            },
            p.IsParams)).ToEquatableArray();

        string receiverRefKind = string.Empty;
        if (!method.IsStatic && method.ContainingType.IsValueType)
        {
            receiverRefKind = method.IsReadOnly || method.ContainingType.IsReadOnly ? "in" : "ref";
        }

        (ReturnShape shape, string? result) = Shape(method);
        return new InterceptorModel(
            Identity(method) + (method.ContainingAssembly is { } asm ? " in " + asm.Name : string.Empty),
            action,
            declaredInCompilation && action.CapabilityValid,
            method.IsStatic,
            method.IsExtensionMethod,
            method.ContainingType!.ToDisplayString(TypeFormat),
            receiverRefKind,
            method.Name,
            method.TypeParameters.Select(tp => tp.Name).ToEquatableArray(),
            typeParameters,
            parameters,
            method.ReturnsVoid ? "void" : method.ReturnType.ToDisplayString(TypeFormat),
            shape,
            result);
    }

    private static bool SyntaxFacts(string name) =>
        Microsoft.CodeAnalysis.CSharp.SyntaxFacts.IsValidIdentifier(name);

    private static (ReturnShape Shape, string? Result) Shape(IMethodSymbol method)
    {
        if (method.ReturnsVoid)
        {
            return (ReturnShape.Void, null);
        }

        if (method.ReturnType is INamedTypeSymbol named && named.ContainingNamespace?.ToDisplayString() == "System.Threading.Tasks")
        {
            switch (named.MetadataName)
            {
                case "Task": return (ReturnShape.Task, null);
                case "ValueTask": return (ReturnShape.ValueTask, null);
                case "Task`1": return (ReturnShape.TaskOfT, named.TypeArguments[0].ToDisplayString(TypeFormat));
                case "ValueTask`1": return (ReturnShape.ValueTaskOfT, named.TypeArguments[0].ToDisplayString(TypeFormat));
            }
        }

        return (ReturnShape.Value, method.ReturnType.ToDisplayString(TypeFormat));
    }

    private static string Constraints(ITypeParameterSymbol tp)
    {
        var parts = new List<string>();
        if (tp.HasUnmanagedTypeConstraint)
        {
            parts.Add("unmanaged");
        }
        else if (tp.HasValueTypeConstraint)
        {
            parts.Add("struct");
        }
        else if (tp.HasReferenceTypeConstraint)
        {
            parts.Add(tp.ReferenceTypeConstraintNullableAnnotation == NullableAnnotation.Annotated ? "class?" : "class");
        }
        else if (tp.HasNotNullConstraint)
        {
            parts.Add("notnull");
        }

        foreach (ITypeSymbol constraint in tp.ConstraintTypes)
        {
            parts.Add(constraint.ToDisplayString(TypeFormat));
        }

        if (tp.HasConstructorConstraint)
        {
            parts.Add("new()");
        }

        return parts.Count == 0 ? string.Empty : "where " + tp.Name + " : " + string.Join(", ", parts);
    }
}

namespace Aim.Sdk.Generators;

/// <summary>What a descriptor needs: the attribute's values plus the method's identity.</summary>
internal sealed record ActionModel(
    string Capability,
    string? Resource,
    int DeclaredRisk,
    int DetectedRisk,
    bool CapabilityValid,
    bool JitAccess,
    int JitTimeoutSeconds,
    bool LogArguments,
    bool LogResult,
    string? Description,
    string Method,
    EquatableArray<string> ParameterNames,
    double CostUsd = 0)
{
    /// <summary>The name of the static descriptor field, stable across the catalog and the interceptors.</summary>
    public string FieldName => "Action_" + Naming.Sanitize(Naming.ShortName(Method)) + "_" + Naming.Hash(Method);

    /// <summary>The risk the runtime uses: declared when set, detected otherwise.</summary>
    public int EffectiveRisk => DeclaredRisk == 0 ? DetectedRisk : DeclaredRisk;
}

/// <summary>
/// One <c>[SecureAction]</c> written in the compilation. <paramref name="DeclaresAction"/> is false when the method
/// implements or overrides a member that carries the attribute too (a restatement): only declarations get a catalog entry.
/// </summary>
internal sealed record TargetModel(ActionModel Action, bool Interceptable, bool DeclaresAction = true);

/// <summary>A generic type parameter of an interceptor, with its constraint clause (empty when none).</summary>
internal sealed record TypeParameterModel(string Name, string Constraints);

/// <summary>A parameter of the intercepted method. RefKind is "", "ref", "out", "in" or "ref readonly".</summary>
internal sealed record ParameterModel(string Name, string Type, string RefKind, bool IsParams);

/// <summary>How the method returns, which picks the AimRuntime overload.</summary>
internal enum ReturnShape
{
    Void,
    Value,
    Task,
    TaskOfT,
    ValueTask,
    ValueTaskOfT,
}

/// <summary>Everything needed to emit one interceptor method for one called method.</summary>
internal sealed record InterceptorModel(
    string Key,
    ActionModel Action,
    bool UseCatalogField,
    bool IsStatic,
    bool IsExtension,
    string ContainingType,
    string ReceiverRefKind,
    string Name,
    EquatableArray<string> MethodTypeParameters,
    EquatableArray<TypeParameterModel> TypeParameters,
    EquatableArray<ParameterModel> Parameters,
    string ReturnType,
    ReturnShape Shape,
    string? ResultType);

/// <summary>One intercepted call: the target and where it is (InterceptableLocation's version and data).</summary>
internal sealed record CallSiteModel(InterceptorModel Target, int LocationVersion, string LocationData, string DisplayLocation);

namespace Aim.Biscuit;

/// <summary>
/// Base of every error Aim.Biscuit raises. The tree mirrors the error tree of the Biscuit
/// specification (format, logic, execution, run limits, language); <see cref="Code"/> is a stable
/// machine-readable identifier such as <c>format.signature.invalid_signature</c>.
/// </summary>
public abstract class BiscuitException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected BiscuitException(string code, string message, Exception? inner = null) : base(message, inner) => Code = code;

    /// <summary>Stable identifier of the error kind, for logs and programmatic handling.</summary>
    public string Code { get; }
}

/// <summary>Kinds of <see cref="BiscuitFormatException"/>, named after the specification's format errors.</summary>
public enum FormatErrorKind
{
    /// <summary>A signature did not verify.</summary>
    InvalidSignature,
    /// <summary>A signature could not be produced.</summary>
    InvalidSignatureGeneration,
    /// <summary>A signature has the wrong size or encoding.</summary>
    BlockSignatureDeserializationError,
    /// <summary>The token envelope is not valid protobuf or misses a required part.</summary>
    DeserializationError,
    /// <summary>A block's payload is not a valid <c>Block</c> message.</summary>
    BlockDeserializationError,
    /// <summary>Serialization failed.</summary>
    SerializationError,
    /// <summary>A key has the wrong size.</summary>
    InvalidKeySize,
    /// <summary>A key could not be decoded.</summary>
    InvalidKey,
    /// <summary>The root key resolver does not know the key id.</summary>
    UnknownPublicKey,
    /// <summary>A block uses a format version outside 3..6.</summary>
    Version,
    /// <summary>A symbol is missing from a symbol table.</summary>
    UnknownSymbol,
    /// <summary>A block redefines a symbol already in the token table.</summary>
    SymbolTableOverlap,
    /// <summary>A public key index is missing from a public key table.</summary>
    UnknownExternalKey,
    /// <summary>The token text is not valid base64url.</summary>
    Base64,
    /// <summary>The token exceeds a configured size limit.</summary>
    TooLarge,
    /// <summary>The token is sealed and cannot be attenuated.</summary>
    AlreadySealed,
    /// <summary>A block contains Datalog its declared version does not allow, or malformed Datalog.</summary>
    InvalidBlock,
}

/// <summary>The token bytes, keys or signatures are invalid.</summary>
public sealed class BiscuitFormatException : BiscuitException
{
    /// <summary>Creates the exception.</summary>
    public BiscuitFormatException(FormatErrorKind kind, string message, Exception? inner = null)
        : base("format." + ToSnake(kind), message, inner) => Kind = kind;

    /// <summary>What went wrong.</summary>
    public FormatErrorKind Kind { get; }

    internal static string ToSnake(Enum value)
    {
        var name = value.ToString();
        var sb = new System.Text.StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }
}

/// <summary>Datalog text could not be parsed, or parameters are missing or unknown.</summary>
public sealed class BiscuitLanguageException : BiscuitException
{
    /// <summary>Creates the exception.</summary>
    public BiscuitLanguageException(string message, int position = -1)
        : base("language.parse_error", position >= 0 ? $"{message} (at offset {position})" : message) => Position = position;

    /// <summary>Offset in the source text where parsing failed, or -1.</summary>
    public int Position { get; }
}

/// <summary>Kinds of <see cref="BiscuitExecutionException"/> (expression evaluation errors).</summary>
public enum ExecutionErrorKind
{
    /// <summary>Integer arithmetic overflowed.</summary>
    Overflow,
    /// <summary>Division by zero.</summary>
    DivideByZero,
    /// <summary>An operation got operands of the wrong type, or an expression did not return a boolean.</summary>
    InvalidType,
    /// <summary>A closure parameter reuses a variable name already in scope.</summary>
    ShadowedVariable,
    /// <summary>The expression stack is malformed.</summary>
    InvalidStack,
    /// <summary>A variable is not bound.</summary>
    UnknownVariable,
    /// <summary>An <c>extern::</c> function is not registered.</summary>
    UndefinedExtern,
    /// <summary>A registered <c>extern::</c> function failed.</summary>
    ExternEvalError,
    /// <summary>An expression nests deeper than the evaluation limit.</summary>
    TooDeep,
}

/// <summary>Evaluating an expression failed; authorization stops.</summary>
public sealed class BiscuitExecutionException : BiscuitException
{
    /// <summary>Creates the exception.</summary>
    public BiscuitExecutionException(ExecutionErrorKind kind, string? detail = null)
        : base("execution." + BiscuitFormatException.ToSnake(kind), detail is null ? kind.ToString() : $"{kind}: {detail}")
    {
        Kind = kind;
        Detail = detail;
    }

    /// <summary>What went wrong.</summary>
    public ExecutionErrorKind Kind { get; }

    /// <summary>Extra information (for example the extern function name), or null.</summary>
    public string? Detail { get; }
}

/// <summary>Kinds of <see cref="BiscuitRunLimitException"/>.</summary>
public enum RunLimitKind
{
    /// <summary>More facts than <see cref="Datalog.RunLimits.MaxFacts"/>.</summary>
    TooManyFacts,
    /// <summary>More iterations than <see cref="Datalog.RunLimits.MaxIterations"/>.</summary>
    TooManyIterations,
    /// <summary>Evaluation took longer than <see cref="Datalog.RunLimits.MaxTime"/>.</summary>
    Timeout,
}

/// <summary>The Datalog evaluation hit a run limit and was stopped.</summary>
public sealed class BiscuitRunLimitException : BiscuitException
{
    /// <summary>Creates the exception.</summary>
    public BiscuitRunLimitException(RunLimitKind kind)
        : base("run_limit." + BiscuitFormatException.ToSnake(kind), $"Datalog evaluation stopped: {kind}") => Kind = kind;

    /// <summary>Which limit was reached.</summary>
    public RunLimitKind Kind { get; }
}

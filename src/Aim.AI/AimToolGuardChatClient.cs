using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Aim.AI;

/// <summary>
/// A chat client stage that secures every <see cref="AIFunction"/> in a request's <see cref="ChatOptions.Tools"/> before the
/// stages below it see them: placed above a <see cref="FunctionInvokingChatClient"/> (<c>builder.UseAim().UseFunctionInvocation()</c>),
/// every tool call that client makes runs Aim's call path, however the tools were added (an agent's own tools, per-run
/// options). A function with neither a mapping nor a <c>[SecureAction]</c> fails the request with
/// <see cref="AimConfigurationException"/> (fail closed) instead of reaching the model.
/// </summary>
/// <remarks>
/// It cannot see tools a <see cref="FunctionInvokingChatClient"/> holds itself (its <c>AdditionalTools</c>): wrap those with
/// <see cref="AimAIFunctionExtensions.WithAim(IEnumerable{AITool}, IReadOnlyDictionary{string, ActionDescriptor}?, AimRuntime?)"/>.
/// Below a <see cref="FunctionInvokingChatClient"/> it would come too late: the invoking client runs the tools it was given.
/// </remarks>
public sealed class AimToolGuardChatClient : DelegatingChatClient
{
    private readonly IReadOnlyDictionary<string, ActionDescriptor>? _actions;
    private readonly AimRuntime? _runtime;

    /// <summary>Creates the stage.</summary>
    /// <param name="innerClient">The client below (usually a <see cref="FunctionInvokingChatClient"/>).</param>
    /// <param name="actions">Actions for tools without a <c>[SecureAction]</c> method, by tool name.</param>
    /// <param name="runtime">The runtime to use; null for <see cref="AimRuntime.Current"/> at call time.</param>
    public AimToolGuardChatClient(IChatClient innerClient, IReadOnlyDictionary<string, ActionDescriptor>? actions = null, AimRuntime? runtime = null)
        : base(innerClient)
    {
        _actions = actions;
        _runtime = runtime;
    }

    /// <inheritdoc/>
    /// <exception cref="AimConfigurationException">A tool function cannot be secured (no mapping, no <c>[SecureAction]</c>).</exception>
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetResponseAsync(messages, Secure(options), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="AimConfigurationException">A tool function cannot be secured (no mapping, no <c>[SecureAction]</c>).</exception>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in base.GetStreamingResponseAsync(messages, Secure(options), cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }

    private ChatOptions? Secure(ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools || tools.All(t => t is not AIFunction || (t is SecuredAIFunction && _runtime is null)))
        {
            return options;
        }

        var secured = options.Clone();
        secured.Tools = tools.WithAim(_actions, _runtime);
        return secured;
    }
}

/// <summary>Adds <see cref="AimToolGuardChatClient"/> to a chat client pipeline.</summary>
public static class AimChatClientBuilderExtensions
{
    /// <summary>
    /// Secures every tool function of each request (see <see cref="AimToolGuardChatClient"/>). Call it before
    /// <c>UseFunctionInvocation()</c> so the guard sits above the client that invokes the tools.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="actions">Actions for tools without a <c>[SecureAction]</c> method, by tool name.</param>
    /// <param name="runtime">The runtime to use; null for <see cref="AimRuntime.Current"/> at call time.</param>
    /// <returns>The builder.</returns>
    public static ChatClientBuilder UseAim(this ChatClientBuilder builder, IReadOnlyDictionary<string, ActionDescriptor>? actions = null, AimRuntime? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use(inner => new AimToolGuardChatClient(inner, actions, runtime));
    }
}

using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Aim.AI.Tests;

/// <summary>
/// A chat model stand-in: asked once, it answers with a call of <paramref name="tool"/>; shown the tool's result, it
/// answers with text quoting it. The tool is found among those offered by its exact name, else by the suffix after a
/// plugin prefix (Semantic Kernel names a function <c>Plugin-Function</c> or <c>Plugin_Function</c>). Keeps the results it was shown, so a test can see what the model saw.
/// </summary>
public sealed class ToolCallingChatClient(string tool, IDictionary<string, object?> arguments) : IChatClient
{
    private int _calls;

    public List<FunctionResultContent> ResultsSeen { get; } = [];

    public IList<AITool>? ToolsOffered { get; private set; }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ToolsOffered = options?.Tools;
        var results = messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToList();
        if (results.Count == 0)
        {
            string callId = "call-" + Interlocked.Increment(ref _calls);
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent(callId, NameOffered(), new Dictionary<string, object?>(arguments))])));
        }

        ResultsSeen.AddRange(results);
        string text = string.Join("; ", results.Select(r => r.Exception is { } ex ? "failed: " + ex.Message : "result: " + r.Result));
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)));
    }

    private string NameOffered()
    {
        var names = ToolsOffered?.Select(t => t.Name).ToList() ?? [];
        if (names.Contains(tool))
        {
            return tool;
        }

        var matches = names.Where(n => n.EndsWith("-" + tool, StringComparison.Ordinal) || n.EndsWith("_" + tool, StringComparison.Ordinal)).ToList();
        return matches.Count == 1 ? matches[0] : tool;
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("scripted") : serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace AgentFramework;

/// <summary>
/// Stands in for a real chat model so the sample runs offline: it asks for the tool the user names
/// ("lookup ..." or "close ..."), then answers with what the tool returned. Replace it with any IChatClient
/// (OpenAI, Azure OpenAI, Ollama, ...); nothing else changes.
/// </summary>
public sealed class ScriptedModel : IChatClient
{
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var history = messages.ToList();
        if (history.SelectMany(m => m.Contents).OfType<FunctionResultContent>().LastOrDefault() is { } result)
        {
            string text = result.Exception is { } error ? $"I could not do that: {error.Message}" : $"Done: {result.Result}";
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)));
        }

        string ask = history.Last(m => m.Role == ChatRole.User).Text;
        string[] words = ask.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string tool = words[0] == "close" ? "CloseTickets" : "LookupTickets";
        var call = new FunctionCallContent("call-1", tool, new Dictionary<string, object?> { ["customer"] = words[^1] });
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, [call])));
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

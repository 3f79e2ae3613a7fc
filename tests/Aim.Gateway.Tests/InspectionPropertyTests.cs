using System.Net;
using System.Text;
using System.Text.Json;
using CsCheck;

namespace Aim.Gateway.Tests;

/// <summary>
/// Properties of the JSON-RPC inspection (CsCheck generators, driven from a fixed seed so CI runs the same inputs every
/// time). A longer run: <c>AIM_GATEWAY_PROPERTY_ITERATIONS=200000 dotnet test tests/Aim.Gateway.Tests -c Release --filter
/// FullyQualifiedName~InspectionPropertyTests</c>; a failure prints the CsCheck seed of the input.
/// </summary>
public sealed class InspectionPropertyTests(GatewayFixture gw) : IClassFixture<GatewayFixture>
{
    private const ulong Seed = 20261207;

    // Member names as a case-insensitive upstream would read them (mostly as written).
    private static Gen<string> Key(string name) => Gen.Frequency(
        (12, Gen.Const(name)),
        (1, Gen.OneOf(name.ToUpperInvariant(), char.ToUpperInvariant(name[0]) + name[1..], name + "_", name.Replace('s', '\u017F'))));

    private static Gen<string> Quoted(params string[] values) => Gen.OneOf(values).Select(v => "\"" + v + "\"");

    private static readonly Gen<string> Text = Quoted(
        "search", "lookup", "delete_everything", "", "tools/call", "Tools/Call", " tools/call", "tools/call\\t", "TOOLS/CALL",
        "tool\\u017F/call", "tools\\/call", "ping", "message/send", "\\ud800", "a\\\"b", "\\u0000");

    private static readonly Gen<string> Scalar = Gen.OneOf(Text, Gen.OneOf("7", "-0.5e3", "null", "true", "{}", "[]", "[1,2]"));

    private static readonly Gen<string> Method = Gen.Frequency((4, Quoted("tools/call")), (2, Quoted("TOOLS/CALL", "Tools/Call", " tools/call ", "ping", "tools/list")), (1, Scalar));

    private static readonly Gen<string> ToolName = Gen.Frequency((4, Quoted("search", "lookup", "delete_everything")), (1, Scalar));

    private static Gen<string> Member(string name, Gen<string> value) => Gen.Select(Key(name), value, (k, v) => "\"" + k + "\":" + v);

    // An object of the given members, each mostly present once, sometimes absent or twice, in a shuffled order.
    private static Gen<string> Object(params Gen<string>[] members) =>
        members.Select(m => Gen.Frequency((8, Gen.Int[1, 1]), (1, Gen.Int[0, 0]), (1, Gen.Int[2, 2])).SelectMany(n => m.Array[n]))
            .Aggregate(Gen.Const(Array.Empty<string>()), (all, next) => Gen.Select(all, next, (a, b) => a.Concat(b).ToArray()))
            .SelectMany(parts => Gen.Shuffle(parts))
            .Select(parts => "{" + string.Join(",", parts) + "}");

    private static readonly Gen<string> Params = Gen.Frequency(
        (8, Object(Member("name", ToolName), Member("arguments", Gen.OneOf("{}", "{\"q\":\"x\"}", "[]", "null")),
            Member("metadata", Object(Member("aip_token", Gen.OneOf(Text, Gen.OneOf("5", "null"))))))),
        (1, Scalar));

    private static readonly Gen<string> Message = Object(
        Gen.Const("\"jsonrpc\":\"2.0\""), Gen.Const("\"id\":1"), Member("method", Method), Member("params", Params));

    /// <summary>Single messages, batches (some with non-object entries), and raw JSON values.</summary>
    private static readonly Gen<string> Body = Gen.Frequency(
        (6, Message),
        (3, Gen.OneOf(Message, Scalar).Array[0, 4].Select(m => "[" + string.Join(",", m) + "]")),
        (1, Scalar));

    /// <summary>Bodies as bytes: generated JSON, the same with one byte changed or cut short, and random bytes.</summary>
    private static readonly Gen<byte[]> Bytes = Gen.Frequency(
        (5, Body.Select(b => Encoding.UTF8.GetBytes(b))),
        (2, Gen.Select(Body, Gen.Int.Positive, Gen.Byte, (b, at, value) =>
        {
            var bytes = Encoding.UTF8.GetBytes(b);
            if (bytes.Length > 0)
            {
                bytes[at % bytes.Length] = value;
            }

            return bytes;
        })),
        (1, Gen.Select(Body, Gen.Int.Positive, (b, at) => Encoding.UTF8.GetBytes(b)[..(at % (b.Length + 1))])),
        (2, Gen.Byte.Array[0, 200]));

    private static long Iterations(long ci) =>
        long.TryParse(Environment.GetEnvironmentVariable("AIM_GATEWAY_PROPERTY_ITERATIONS"), out var n) && n > 0 ? n : ci;

    /// <summary>Runs <paramref name="assert"/> on <paramref name="count"/> inputs generated from the fixed seed.</summary>
    private static async Task ForAllAsync<T>(Gen<T> gen, long count, Func<T, Task> assert, Func<T, string> print)
    {
        var pcg = new PCG(1, Seed);
        for (long i = 0; i < count; i++)
        {
            ulong seed = pcg.Seed;
            var value = gen.Generate(pcg, null!, out _);
            try
            {
                await assert(value);
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException($"Property failed on input {i} (CsCheck seed \"{pcg.ToString(seed)}\"): {print(value)}{Environment.NewLine}{ex}");
            }
        }
    }

    private static string Show(byte[] bytes) => Convert.ToHexString(bytes) + " = " + Encoding.UTF8.GetString(bytes);

    [Fact]
    public Task Inspection_of_any_bytes_is_a_reading_or_a_refusal_never_an_exception() =>
        ForAllAsync(Bytes, Iterations(20_000), bytes =>
        {
            // Inspect returns null (refused) or a reading; anything thrown fails the property.
            var inspection = JsonRpcInspection.Inspect(bytes, _ => true);
            if (inspection is { } read)
            {
                Assert.All(read.Tools, t => Assert.NotNull(t.Name));
            }

            return Task.CompletedTask;
        }, Show);

    [Fact]
    public async Task Every_tool_call_a_lenient_upstream_would_read_is_refused_or_checked()
    {
        long count = Iterations(20_000), checkedCalls = 0;
        await ForAllAsync(Bytes, count, bytes =>
        {
            var lenient = LenientReader.Tools(Encoding.UTF8.GetString(bytes));
            if (JsonRpcInspection.Inspect(bytes) is { } read)
            {
                foreach (var tool in lenient)
                {
                    Assert.Contains(read.Tools, t => t.Name == tool);
                    checkedCalls++;
                }
            }

            return Task.CompletedTask;
        }, Show);

        // Not vacuous: the generator produces many bodies the gateway reads and finds tool calls in.
        Assert.True(checkedCalls > count / 40, $"only {checkedCalls} tool calls read in {count} inputs");
    }

    [Fact]
    public async Task Through_a_real_gateway_every_answer_is_forwarded_or_a_typed_refusal_and_no_tool_slips_through()
    {
        string token = gw.Token(["tool:search"]);
        var codes = new HashSet<string>(StringComparer.Ordinal)
        {
            "request_malformed", "request_too_large", "aip_token_malformed", "aip_token_missing", "aip_scope_insufficient", "resource_not_granted",
        };
        var request = Gen.Select(Bytes, Gen.OneOf("POST", "PUT", "PATCH", "GET", "DELETE"), Gen.OneOf("application/json", "text/plain", "application/octet-stream", "application/json-rpc"));
        int forwarded = 0, refused = 0;
        await ForAllAsync(request, Iterations(300), async r =>
        {
            var (bytes, method, type) = r;
            using var message = new HttpRequestMessage(new HttpMethod(method), "/mcp") { Content = new ByteArrayContent(bytes) };
            message.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
            message.Headers.Add("X-AIP-Token", token);
            using var response = await gw.Gateway.SendAsync(message);
            string text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                forwarded++;
            }
            else
            {
                refused++;
                Assert.Contains(response.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.RequestEntityTooLarge });
                using var error = JsonDocument.Parse(text);
                Assert.Contains(error.RootElement.GetProperty("error").GetProperty("code").GetString()!, codes);
                Assert.Equal(JsonValueKind.String, error.RootElement.GetProperty("error").GetProperty("message").ValueKind);
            }

            // Whatever got through, the upstream never saw a tool the token (tool:search) does not allow.
            Assert.All(gw.ToolsSeen, t => Assert.Equal("search", t));
        }, r => $"{r.Item2} {r.Item3} {Show(r.Item1)}");

        // Not vacuous: both outcomes occur often.
        Assert.True(forwarded > 30 && refused > 30, $"{forwarded} forwarded, {refused} refused");
    }
}

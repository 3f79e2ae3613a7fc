using System.Globalization;
using System.Text.Json;
using Aim.Capabilities;
using Aim.Identity;

namespace Aim.Policy;

/// <summary>Turns a policy JSON document into <see cref="AgentPolicy"/> objects, strictly, with JSON paths in every error.</summary>
internal sealed class PolicyFileReader(string? source)
{
    public List<AgentPolicy> ReadRoot(JsonElement root)
    {
        var fields = Fields(root, "$", "$schema", "version", "agents");
        if (fields.TryGetValue("version", out var version)
            && (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int v) || v != 1))
        {
            throw Error("$.version", "only version 1 is supported.");
        }

        if (fields.TryGetValue("$schema", out var schema) && schema.ValueKind != JsonValueKind.String)
        {
            throw Error("$['$schema']", "must be a string.");
        }

        if (!fields.TryGetValue("agents", out var agents))
        {
            throw Error("$", "the \"agents\" object is required.");
        }

        var policies = new List<AgentPolicy>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, element) in Members(agents, "$.agents"))
        {
            var path = $"$.agents[{JsonSerializer.Serialize(name)}]";
            if (!AgentName.IsValid(name))
            {
                throw Error(path, $"'{Capability.Quote(name)}' is not a valid agent name (a-z, 0-9, '.', '_', '-'; at most {AgentName.MaxLength}).");
            }

            var normalized = AgentName.Normalize(name);
            if (!seen.Add(normalized))
            {
                throw Error(path, $"agent '{normalized}' appears twice (names are case-insensitive).");
            }

            policies.Add(ReadAgent(normalized, element, path));
        }

        return policies;
    }

    private AgentPolicy ReadAgent(string agent, JsonElement element, string path)
    {
        var fields = Fields(element, path, "grants", "attributes", "timeWindows", "rateLimits", "budget", "intent");
        var builder = new AgentPolicy.Builder(agent);

        if (fields.TryGetValue("grants", out var grants))
        {
            int i = 0;
            foreach (var grant in Items(grants, path + ".grants"))
            {
                builder.Grant(ReadGrant(grant, $"{path}.grants[{i++}]"));
            }
        }

        if (fields.TryGetValue("attributes", out var attributes))
        {
            foreach (var (key, value) in Members(attributes, path + ".attributes"))
            {
                var valuePath = $"{path}.attributes[{JsonSerializer.Serialize(key)}]";
                if (key.Length == 0)
                {
                    throw Error(valuePath, "an attribute key must not be empty.");
                }

                var accepted = value.ValueKind == JsonValueKind.Array
                    ? Items(value, valuePath).Select((item, n) => String(item, $"{valuePath}[{n}]")).ToArray()
                    : [String(value, valuePath)];
                if (accepted.Length == 0)
                {
                    throw Error(valuePath, "needs at least one accepted value.");
                }

                builder.RequireAttribute(key, accepted);
            }
        }

        if (fields.TryGetValue("timeWindows", out var windows))
        {
            int i = 0;
            foreach (var window in Items(windows, path + ".timeWindows"))
            {
                builder.AllowDuring(Wrap($"{path}.timeWindows[{i}]", () => ReadWindow(window, $"{path}.timeWindows[{i}]")));
                i++;
            }
        }

        if (fields.TryGetValue("rateLimits", out var limits))
        {
            int i = 0;
            foreach (var limit in Items(limits, path + ".rateLimits"))
            {
                var limitPath = $"{path}.rateLimits[{i++}]";
                var f = Fields(limit, limitPath, "capability", "limit", "per");
                var capability = String(Required(f, "capability", limitPath), limitPath + ".capability");
                var count = Int(Required(f, "limit", limitPath), limitPath + ".limit");
                var per = Period(Required(f, "per", limitPath), limitPath + ".per");
                Wrap(limitPath, () => builder.RateLimit(capability, count, per));
            }
        }

        if (fields.TryGetValue("budget", out var budget))
        {
            var budgetPath = path + ".budget";
            var f = Fields(budget, budgetPath, "limitUsd", "per");
            var limitElement = Required(f, "limitUsd", budgetPath);
            if (limitElement.ValueKind != JsonValueKind.Number || !limitElement.TryGetDecimal(out var limitUsd))
            {
                throw Error(budgetPath + ".limitUsd", "must be a number.");
            }

            TimeSpan? per = f.TryGetValue("per", out var perElement) ? Period(perElement, budgetPath + ".per") : null;
            Wrap(budgetPath, () => builder.Budget(limitUsd, per));
        }

        if (fields.TryGetValue("intent", out var intent))
        {
            var intentPath = path + ".intent";
            var f = Fields(intent, intentPath, "high", "critical");
            IntentCutPoints? Points(string level)
            {
                if (!f.TryGetValue(level, out var element))
                {
                    return null;
                }

                var levelPath = $"{intentPath}.{level}";
                var p = Fields(element, levelPath, "stepUpAt", "denyAt");
                return new IntentCutPoints(Probability(Required(p, "stepUpAt", levelPath), levelPath + ".stepUpAt"), Probability(Required(p, "denyAt", levelPath), levelPath + ".denyAt"));
            }

            var policy = new IntentPolicy(Points("high"), Points("critical"));
            Wrap(intentPath, () => builder.IntentThresholds(policy));
        }

        return builder.Build();
    }

    private double Probability(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var value) && value is >= 0 and <= 1
            ? value
            : throw Error(path, "must be a number from 0 to 1.");

    private CapabilityGrant ReadGrant(JsonElement element, string path)
    {
        try
        {
            if (element.ValueKind == JsonValueKind.String)
            {
                return CapabilityGrant.Parse(element.GetString()!);
            }

            var f = Fields(element, path, "capability", "resources");
            var capability = String(Required(f, "capability", path), path + ".capability");
            if (capability.Contains('@'))
            {
                throw Error(path + ".capability", "put resource patterns in \"resources\", not after '@'.");
            }

            var resources = f.TryGetValue("resources", out var r)
                ? Items(r, path + ".resources").Select((item, n) => String(item, $"{path}.resources[{n}]")).ToArray()
                : [];
            return CapabilityGrant.Create(capability, resources);
        }
        catch (CapabilityFormatException ex)
        {
            throw Error(path, ex.Message, ex);
        }
    }

    private TimeWindow ReadWindow(JsonElement element, string path)
    {
        var f = Fields(element, path, "days", "startHour", "endHour");
        var days = new List<DayOfWeek>();
        if (f.TryGetValue("days", out var dayList))
        {
            int n = 0;
            foreach (var day in Items(dayList, path + ".days"))
            {
                var dayPath = $"{path}.days[{n++}]";
                days.Add(ParseDay(String(day, dayPath)) ?? throw Error(dayPath, "not a day of the week (mon..sun or monday..sunday)."));
            }
        }

        int start = Int(Required(f, "startHour", path), path + ".startHour");
        int end = Int(Required(f, "endHour", path), path + ".endHour");
        return new TimeWindow(days, start, end);
    }

    private static DayOfWeek? ParseDay(string text) => text.ToLowerInvariant() switch
    {
        "sun" or "sunday" => DayOfWeek.Sunday,
        "mon" or "monday" => DayOfWeek.Monday,
        "tue" or "tuesday" => DayOfWeek.Tuesday,
        "wed" or "wednesday" => DayOfWeek.Wednesday,
        "thu" or "thursday" => DayOfWeek.Thursday,
        "fri" or "friday" => DayOfWeek.Friday,
        "sat" or "saturday" => DayOfWeek.Saturday,
        _ => null,
    };

    private T Wrap<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (PolicyFormatException ex) when (ex.JsonPath is null)
        {
            throw Error(path, StripPrefix(ex.Message), ex);
        }
    }

    private void Wrap(string path, Action action) => Wrap<object?>(path, () =>
    {
        action();
        return null;
    });

    private static string StripPrefix(string message) =>
        message.StartsWith("Policy is malformed: ", StringComparison.Ordinal) ? message["Policy is malformed: ".Length..] : message;

    private Dictionary<string, JsonElement> Fields(JsonElement element, string path, params string[] allowed)
    {
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (name, value) in Members(element, path))
        {
            if (Array.IndexOf(allowed, name) < 0)
            {
                throw Error($"{path}[{JsonSerializer.Serialize(name)}]", $"unknown field '{Capability.Quote(name)}' (allowed: {string.Join(", ", allowed)}).");
            }

            result[name] = value;
        }

        return result;
    }

    private IEnumerable<(string Name, JsonElement Value)> Members(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Error(path, $"must be an object, not {Describe(element.ValueKind)}.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var members = new List<(string, JsonElement)>();
        foreach (var property in element.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                throw Error($"{path}[{JsonSerializer.Serialize(property.Name)}]", "the field appears twice.");
            }

            members.Add((property.Name, property.Value));
        }

        return members;
    }

    private IEnumerable<JsonElement> Items(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw Error(path, $"must be an array, not {Describe(element.ValueKind)}.");
        }

        return element.EnumerateArray().ToArray();
    }

    private JsonElement Required(Dictionary<string, JsonElement> fields, string name, string path) =>
        fields.TryGetValue(name, out var value) ? value : throw Error(path, $"the field \"{name}\" is required.");

    private string String(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.String ? element.GetString()! : throw Error(path, $"must be a string, not {Describe(element.ValueKind)}.");

    private int Int(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out int value) ? value : throw Error(path, "must be an integer.");

    private TimeSpan Period(JsonElement element, string path)
    {
        var text = String(element, path);
        return TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out var period)
            ? period
            : throw Error(path, $"'{Capability.Quote(text)}' is not a period such as \"00:01:00\" or \"1.00:00:00\".");
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private PolicyFormatException Error(string path, string problem, Exception? inner = null) => new(source, path, problem, inner);
}

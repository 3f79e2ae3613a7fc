using System.Text;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Identity;

namespace Aim.Core.Tests.Identity;

public sealed class AgentKeyStoreTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "aim-keystore-" + Guid.NewGuid().ToString("N"));
    private readonly AgentKeyStore _store;

    public AgentKeyStoreTests()
    {
        _store = new AgentKeyStore(_home, new FixedTime(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)));
    }

    public void Dispose()
    {
        if (Directory.Exists(_home))
        {
            Directory.Delete(_home, recursive: true);
        }
    }

    [Fact]
    public void LoadOrCreate_creates_a_versioned_key_file_then_loads_the_same_key()
    {
        using var created = _store.LoadOrCreate("support-agent");
        using var loaded = _store.LoadOrCreate("support-agent");

        Assert.Equal(created.Identity, loaded.Identity);
        Assert.Equal("support-agent", loaded.Identity.Name);
        var signature = loaded.Sign("m"u8);
        Assert.True(created.Identity.Verify("m"u8, signature));

        var json = JsonNode.Parse(File.ReadAllText(_store.PathFor("support-agent")))!.AsObject();
        Assert.Equal("aim-agent-key", (string?)json["format"]);
        Assert.Equal(1, (int?)json["version"]);
        Assert.Equal(created.Identity.Id.ToString(), (string?)json["id"]);
        Assert.Equal("ed25519", (string?)json["algorithm"]);
        Assert.Equal("2026-01-02T03:04:05.0000000Z", (string?)json["created"]);
        Assert.Equal(created.Identity.PublicKey.ToArray(), Convert.FromBase64String(ToBase64((string)json["public_key"]!)));
        Assert.Equal(32, Convert.FromBase64String(ToBase64((string)json["seed"]!)).Length);
    }

    [Fact]
    public void Key_file_and_directories_are_private_on_unix()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var key = _store.Create("private");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_store.PathFor("private")));
        var directoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Assert.Equal(directoryMode, File.GetUnixFileMode(_store.AgentsPath));
        Assert.Equal(directoryMode, File.GetUnixFileMode(_home));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, AgentKeyStore.UnixModeOf(_store.PathFor("private")));
    }

    [Fact]
    public void No_temporary_files_are_left_behind()
    {
        using var a = _store.Create("a");
        using var b = _store.Create("b");
        Assert.Equal(new[] { "a.json", "b.json" }, Directory.GetFiles(_store.AgentsPath).Select(f => Path.GetFileName(f)).Order().ToArray());
    }

    [Fact]
    public void Create_refuses_an_existing_agent_and_keeps_its_file()
    {
        using var first = _store.Create("dup");
        var before = File.ReadAllBytes(_store.PathFor("dup"));

        var ex = Assert.Throws<KeyStoreException>(() => _store.Create("dup"));

        Assert.Equal("aim_keystore_exists", ex.Code);
        Assert.Equal(before, File.ReadAllBytes(_store.PathFor("dup")));
    }

    [Fact]
    public void Concurrent_LoadOrCreate_yields_one_key()
    {
        var identities = new AgentIdentity[8];
        Parallel.For(0, identities.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var key = _store.LoadOrCreate("racer");
            identities[i] = key.Identity;
        });

        Assert.All(identities, id => Assert.Equal(identities[0], id));
        Assert.Single(Directory.GetFiles(_store.AgentsPath));
    }

    [Fact]
    public void Load_of_a_missing_agent_is_not_found()
    {
        var ex = Assert.Throws<KeyStoreException>(() => _store.Load("ghost"));
        Assert.Equal("aim_keystore_not_found", ex.Code);
        Assert.Contains(_store.PathFor("ghost"), ex.Message);
        Assert.False(_store.Exists("ghost"));
    }

    [Fact]
    public void Names_are_lower_cased()
    {
        using var key = _store.Create("Support-Agent");
        Assert.Equal("support-agent", key.Identity.Name);
        Assert.True(_store.Exists("SUPPORT-AGENT"));
        Assert.EndsWith(Path.Combine("agents", "support-agent.json"), _store.PathFor("Support-Agent"));
        using var loaded = _store.Load("support-AGENT");
        Assert.Equal(key.Identity, loaded.Identity);
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("/etc/passwd")]
    [InlineData(".hidden")]
    [InlineData("-dash")]
    [InlineData("_under")]
    [InlineData("a..b")]
    [InlineData("a b")]
    [InlineData("a\0b")]
    [InlineData("caf\u00e9")]
    [InlineData("\u212A")] // Kelvin sign: culture lowering would turn it into 'k'
    [InlineData("\u0130")] // dotted capital I
    [InlineData("a:b")]
    [InlineData("__log")]
    public void Invalid_names_are_refused(string name)
    {
        var ex = Assert.Throws<KeyStoreException>(() => _store.LoadOrCreate(name));
        Assert.Equal("aim_keystore_name_invalid", ex.Code);
        Assert.False(AgentName.IsValid(name));
        Assert.False(Directory.Exists(_store.AgentsPath) && Directory.EnumerateFileSystemEntries(_store.AgentsPath).Any());
    }

    [Fact]
    public void Name_of_65_characters_is_refused_and_64_accepted()
    {
        Assert.Throws<KeyStoreException>(() => _store.PathFor(new string('a', 65)));
        Assert.True(AgentName.IsValid(new string('a', 64)));
        Assert.True(AgentName.IsValid("agent.v2_b-1"));
        Assert.True(AgentName.IsValid("9lives"));
    }

    [Fact]
    public void List_returns_every_agent_sorted_and_ignores_stray_files()
    {
        using (_store.Create("zeta"))
        using (_store.Create("alpha"))
        {
        }

        File.WriteAllText(Path.Combine(_store.AgentsPath, "zeta.json.tmp-0011"), "junk");
        File.WriteAllText(Path.Combine(_store.AgentsPath, ".DS_Store.json"), "junk");

        var identities = _store.List();

        Assert.Equal(["alpha", "zeta"], identities.Select(i => i.Name).ToArray());
    }

    [Fact]
    public void List_of_an_empty_home_is_empty()
    {
        Assert.Empty(_store.List());
    }

    [Fact]
    public void Log_key_is_stored_beside_the_agents_and_reloaded()
    {
        using var created = _store.LoadOrCreateLogKey();
        using var loaded = _store.LoadOrCreateLogKey();
        using var viaLoad = _store.LoadLogKey();

        Assert.Equal("__log", created.Identity.Name);
        Assert.Equal(Path.Combine(_home, "log.key.json"), _store.LogKeyPath);
        Assert.True(File.Exists(_store.LogKeyPath));
        Assert.Equal(created.Identity, loaded.Identity);
        Assert.Equal(created.Identity, viaLoad.Identity);
        Assert.Empty(_store.List());
    }

    [Fact]
    public void Default_home_follows_AIM_HOME()
    {
        var saved = Environment.GetEnvironmentVariable("AIM_HOME");
        try
        {
            Environment.SetEnvironmentVariable("AIM_HOME", _home);
            Assert.Equal(Path.GetFullPath(_home), AgentKeyStore.DefaultHome());
            Environment.SetEnvironmentVariable("AIM_HOME", null);
            Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".aim"), AgentKeyStore.DefaultHome());
        }
        finally
        {
            Environment.SetEnvironmentVariable("AIM_HOME", saved);
        }
    }

    // ---- hostile files: every one is refused with a stable code, named in the message, and left untouched ----

    public static TheoryData<string, string> HostileContents()
    {
        var data = new TheoryData<string, string>
        {
            { "", "aim_keystore_corrupt" },
            { "{", "aim_keystore_corrupt" },
            { "{not json}", "aim_keystore_corrupt" },
            { "{\"format\":\"aim-agent-key\",}", "aim_keystore_corrupt" },
            { "{\"format\":\"aim-agent-key\"} trailing", "aim_keystore_corrupt" },
            { "\u0000\u0001binary", "aim_keystore_corrupt" },
            { "[]", "aim_keystore_foreign" },
            { "\"a string\"", "aim_keystore_foreign" },
            { "42", "aim_keystore_foreign" },
            { "null", "aim_keystore_foreign" },
            { "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}", "aim_keystore_foreign" },
            { "{}", "aim_keystore_foreign" },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(HostileContents))]
    public void Hostile_file_contents_are_refused_and_never_replaced(string content, string code)
    {
        WriteKeyFile("victim", Encoding.UTF8.GetBytes(content));
        AssertRefusedAndUntouched("victim", code);
    }

    public static TheoryData<string, string> Mutations() => new()
    {
        { "format=aim-audit-log", "aim_keystore_corrupt" },
        { "format=5", "aim_keystore_corrupt" },
        { "format=null", "aim_keystore_corrupt" },
        { "version=2", "aim_keystore_version" },
        { "version=0", "aim_keystore_version" },
        { "version=\"1\"", "aim_keystore_corrupt" },
        { "version=1.5", "aim_keystore_corrupt" },
        { "-version", "aim_keystore_corrupt" },
        { "-id", "aim_keystore_corrupt" },
        { "id=not-a-uuid", "aim_keystore_corrupt" },
        { "-name", "aim_keystore_corrupt" },
        { "name=other-agent", "aim_keystore_corrupt" },
        { "-created", "aim_keystore_corrupt" },
        { "created=yesterday", "aim_keystore_corrupt" },
        { "algorithm=p256", "aim_keystore_corrupt" },
        { "-algorithm", "aim_keystore_corrupt" },
        { "-public_key", "aim_keystore_corrupt" },
        { "public_key=AAAA", "aim_keystore_corrupt" },
        { "public_key=not base64!", "aim_keystore_corrupt" },
        { "-seed", "aim_keystore_corrupt" },
        { "seed=AAAA", "aim_keystore_corrupt" },
        { "seed=" + new string('A', 44), "aim_keystore_corrupt" },
        { "seed=" + new string('*', 43), "aim_keystore_corrupt" },
        { "seed=42", "aim_keystore_corrupt" },
        { "+extra", "aim_keystore_corrupt" },
    };

    [Theory]
    [MemberData(nameof(Mutations))]
    public void Mutated_key_files_are_refused_and_never_replaced(string mutation, string code)
    {
        var json = ValidFileFor("victim");
        if (mutation.StartsWith('-'))
        {
            json.Remove(mutation[1..]);
        }
        else if (mutation.StartsWith('+'))
        {
            json[mutation[1..]] = "x";
        }
        else
        {
            var eq = mutation.IndexOf('=');
            var value = mutation[(eq + 1)..];
            json[mutation[..eq]] = ParseOrString(value);
        }

        WriteKeyFile("victim", Encoding.UTF8.GetBytes(json.ToJsonString()));
        AssertRefusedAndUntouched("victim", code);
    }

    [Fact]
    public void Seed_that_does_not_derive_the_stored_public_key_is_corrupt()
    {
        var json = ValidFileFor("victim");
        using var other = Ed25519KeyPair.Generate();
        json["seed"] = ToBase64Url(other.ExportSeed());
        WriteKeyFile("victim", Encoding.UTF8.GetBytes(json.ToJsonString()));

        var ex = AssertRefusedAndUntouched("victim", "aim_keystore_corrupt");
        Assert.Contains("does not derive", ex.Message);
    }

    [Fact]
    public void Escaped_seed_is_refused()
    {
        var json = ValidFileFor("victim");
        var seed = (string)json["seed"]!;
        var text = json.ToJsonString().Replace("\"" + seed + "\"", "\"\\u00" + ((int)seed[0]).ToString("x2") + seed[1..] + "\"");
        WriteKeyFile("victim", Encoding.UTF8.GetBytes(text));
        AssertRefusedAndUntouched("victim", "aim_keystore_corrupt");
    }

    [Fact]
    public void Duplicate_field_is_refused()
    {
        var json = ValidFileFor("victim");
        using var other = Ed25519KeyPair.Generate();
        var text = json.ToJsonString().TrimEnd('}') + ",\"seed\":\"" + ToBase64Url(other.ExportSeed()) + "\"}";
        WriteKeyFile("victim", Encoding.UTF8.GetBytes(text));
        var ex = AssertRefusedAndUntouched("victim", "aim_keystore_corrupt");
        Assert.Contains("twice", ex.Message);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'{', (byte)'"', 0xff, 0xfe, (byte)'"', (byte)':', (byte)'1', (byte)'}' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'f', (byte)'o', (byte)'r', (byte)'m', (byte)'a', (byte)'t', (byte)'"', (byte)':', (byte)'"', 0xc3, (byte)'"', (byte)'}' })]
    [InlineData(new byte[] { 0xef, 0xbb, 0xbf, (byte)'{', (byte)'}' })]
    public void Invalid_utf8_is_refused_with_a_keystore_error(byte[] content)
    {
        WriteKeyFile("victim", content);
        var ex = Assert.Throws<KeyStoreException>(() => _store.Load("victim"));
        Assert.True(ex.Code is "aim_keystore_corrupt" or "aim_keystore_foreign", ex.Code);
        Assert.Equal(content, File.ReadAllBytes(_store.PathFor("victim")));
    }

    [Fact]
    public void Oversized_file_is_refused()
    {
        WriteKeyFile("victim", Encoding.UTF8.GetBytes("{\"format\":\"aim-agent-key\",\"pad\":\"" + new string('x', 100_000) + "\"}"));
        AssertRefusedAndUntouched("victim", "aim_keystore_corrupt");
    }

    [Fact]
    public void Deeply_nested_json_is_refused_as_corrupt()
    {
        WriteKeyFile("victim", Encoding.UTF8.GetBytes("{\"format\":\"aim-agent-key\",\"x\":" + new string('[', 1000) + new string(']', 1000) + "}"));
        AssertRefusedAndUntouched("victim", "aim_keystore_corrupt");
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead)]
    public void Group_or_world_accessible_key_file_is_refused(UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using (_store.Create("open"))
        {
        }

        File.SetUnixFileMode(_store.PathFor("open"), mode);
        var ex = AssertRefusedAndUntouched("open", "aim_keystore_permissions");
        Assert.Contains("chmod 600", ex.Message);
        Assert.Equal(mode, File.GetUnixFileMode(_store.PathFor("open")));
    }

    [Fact]
    public void Errors_never_contain_the_seed()
    {
        var json = ValidFileFor("victim");
        var seed = (string)json["seed"]!;
        json["version"] = 2;
        WriteKeyFile("victim", Encoding.UTF8.GetBytes(json.ToJsonString()));
        var ex = Assert.Throws<KeyStoreException>(() => _store.Load("victim"));
        Assert.DoesNotContain(seed, ex.ToString());

        json = ValidFileFor("victim2");
        seed = (string)json["seed"]!;
        json["public_key"] = seed;
        WriteKeyFile("victim2", Encoding.UTF8.GetBytes(json.ToJsonString()));
        ex = Assert.Throws<KeyStoreException>(() => _store.Load("victim2"));
        Assert.DoesNotContain(seed, ex.ToString());
    }

    [Fact]
    public void Corrupt_log_key_is_refused_and_kept()
    {
        Directory.CreateDirectory(_home);
        File.WriteAllText(_store.LogKeyPath, "{\"something\":\"else\"}");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_store.LogKeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var ex = Assert.Throws<KeyStoreException>(() => _store.LoadOrCreateLogKey());
        Assert.Equal("aim_keystore_foreign", ex.Code);
        Assert.Equal("{\"something\":\"else\"}", File.ReadAllText(_store.LogKeyPath));
    }

    [Fact]
    public void List_reports_a_corrupt_file()
    {
        using (_store.Create("good"))
        {
        }

        WriteKeyFile("bad", "{oops"u8.ToArray());
        var ex = Assert.Throws<KeyStoreException>(() => _store.List());
        Assert.Equal("aim_keystore_corrupt", ex.Code);
        Assert.Contains("bad.json", ex.Message);
    }

    private KeyStoreException AssertRefusedAndUntouched(string name, string code)
    {
        var path = _store.PathFor(name);
        var before = File.ReadAllBytes(path);

        var load = Assert.Throws<KeyStoreException>(() => _store.Load(name));
        var loadOrCreate = Assert.Throws<KeyStoreException>(() => _store.LoadOrCreate(name));
        var create = Assert.Throws<KeyStoreException>(() => _store.Create(name));

        Assert.Equal(code, load.Code);
        Assert.Equal(code, loadOrCreate.Code);
        Assert.Equal("aim_keystore_exists", create.Code);
        Assert.Contains(path, load.Message);
        Assert.Equal(path, load.FilePath);
        Assert.True(File.Exists(path));
        Assert.Equal(before, File.ReadAllBytes(path));
        return load;
    }

    private JsonObject ValidFileFor(string name)
    {
        using (_store.Create(name))
        {
        }

        var path = _store.PathFor(name);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        File.Delete(path);
        return json;
    }

    private void WriteKeyFile(string name, byte[] content)
    {
        Directory.CreateDirectory(_store.AgentsPath);
        var path = _store.PathFor(name);
        File.WriteAllBytes(path, content);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static JsonNode? ParseOrString(string value)
    {
        try
        {
            return JsonNode.Parse(value);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create(value);
        }
    }

    private static string ToBase64(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=');
    }

    private static string ToBase64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

#!/usr/bin/env bash
# Package acceptance test (issues 3 and 18): pack the whole solution into a folder, then, as a user would, with only
# that folder as the source of Aim packages (packageSourceMapping: Aim.* from the folder, everything else from NuGet):
#   - every src/ project is a package with a readme, a licence expression, repository metadata with the commit, a
#     symbol package whose PDB is source-linked, and no bundled copy of another Aim assembly;
#   - a fresh console app (Aim.Sdk): the packed analyzers report AIM002/AIM004, a granted call is intercepted and
#     returns, a denied call never runs its body, the assembly carries the capability manifest;
#   - a fresh ASP.NET Core app (Aim.AspNetCore): a granted endpoint answers 200, a denied one 403 without running;
#   - a fresh MCP server app (Aim.Mcp) over stdio: a granted tool runs, a denied tool is refused and never runs;
#   - the tools: dotnet tool install of Aim.Cli (aim --version, aim risk payment:refund), Aim.Server (aim-server prints
#     its startup line, answers /health and sends / to the dashboard) and Aim.Gateway (aim-gateway refuses a request
#     without a token with the AIP error).
# New src/ projects are covered without edits (the expected packages are the src/ folders).
# Usage: bash tests/Aim.Sdk.PackageTests/run.sh   (exit 0 = pass; prints "N passed, M failed")
#   AIM_PACKAGE_TEST_BUILT=1  the solution was just built in Release (scripts/test.sh): pack without building again.
#   AIM_PKGTEST_KEEP=1        keep the work folder.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/aim-pkgtest.XXXXXX")"
# A unique version per run, so the one shared NuGet cache never serves an older build of a package; its entries are
# removed at the end.
version="0.1.0-pkgtest.$(date +%s)"
cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
server_pid=""; gateway_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null || true
  rm -rf "$cache"/aim.*/"$version"
  if [ -n "${AIM_PKGTEST_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

passed=0; failed=0
check() { # check <description> <command...>
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed+1)); echo "PASS $what"; else failed=$((failed+1)); echo "FAIL $what"; fi
}
finish() { echo "$passed passed, $failed failed"; if [ "$failed" = 0 ]; then exit 0; else exit 1; fi; }
fail_now() { cat "$1"; failed=$((failed+1)); echo "FAIL $2"; finish; }

echo "== pack Aim.Sdk.sln $version"
if [ -z "${AIM_PACKAGE_TEST_BUILT:-}" ]; then
  dotnet build "$repo/Aim.Sdk.sln" -c Release -nologo -clp:ErrorsOnly >"$work/build-sln.log" 2>&1 || fail_now "$work/build-sln.log" "solution builds"
fi
dotnet pack "$repo/Aim.Sdk.sln" -c Release --no-build -o "$work/feed" -p:Version="$version" -nologo -clp:ErrorsOnly >"$work/pack.log" 2>&1 \
  || fail_now "$work/pack.log" "dotnet pack Aim.Sdk.sln"
feed="$work/feed"
ls "$feed"

# --- the packages --------------------------------------------------------------------------------------------------
for dir in "$repo"/src/*/; do
  id="$(basename "$dir")"
  [ -f "$dir/$id.csproj" ] || continue
  nupkg="$feed/$id.$version.nupkg"
  check "$id: package packed" test -f "$nupkg"
  [ -f "$nupkg" ] || continue
  nuspec="$(unzip -p "$nupkg" "$id.nuspec")"
  listing="$(unzip -l "$nupkg")"
  check "$id: readme in the package" bash -c 'grep -q "<readme>README.md</readme>" <<<"$0" && grep -q " README.md$" <<<"$1"' "$nuspec" "$listing"
  check "$id: licence expression"    grep -q '<license type="expression">' <<<"$nuspec"
  check "$id: description"           bash -c '! grep -q "<description>Package Description</description>" <<<"$0" && grep -q "<description>" <<<"$0"' "$nuspec"
  check "$id: repository and commit" grep -qE '<repository type="git" url="https://github.com/[^"]+" [^>]*commit="[0-9a-f]{40}"' <<<"$nuspec"
  check "$id: symbol package"        test -f "$feed/$id.$version.snupkg"
  # A library ships only its own assembly; other Aim assemblies are package dependencies (tools carry everything).
  if ! grep -q '<packageType name="DotnetTool"' <<<"$nuspec"; then
    check "$id: no bundled Aim assembly" bash -c '! grep -E "lib/[^/]+/Aim\.[^/]*\.dll$" <<<"$0" | grep -vq "lib/[^/]*/$1\.dll$"' "$listing" "$id"
  fi
done
sdk="$feed/Aim.Sdk.$version.nupkg"
sdk_listing="$(unzip -l "$sdk")"
check "Aim.Sdk: runtime in lib/"                 grep -q "lib/net10.0/Aim.Sdk.dll" <<<"$sdk_listing"
check "Aim.Sdk: generator in analyzers/"         grep -q "analyzers/dotnet/cs/Aim.Sdk.Generators.dll" <<<"$sdk_listing"
check "Aim.Sdk: code fixes in analyzers/"        grep -q "analyzers/dotnet/cs/Aim.Sdk.CodeFixes.dll" <<<"$sdk_listing"
check "Aim.Sdk: buildTransitive targets"         grep -q "buildTransitive/Aim.Sdk.targets" <<<"$sdk_listing"
check "Aim.Sdk: depends on the Aim.Core package" grep -q "id=\"Aim.Core\" version=\"$version\"" <<<"$(unzip -p "$sdk" Aim.Sdk.nuspec)"
unzip -p "$feed/Aim.Sdk.$version.snupkg" lib/net10.0/Aim.Sdk.pdb >"$work/Aim.Sdk.pdb"
check "Aim.Sdk: PDB is source-linked"            grep -aq "raw.githubusercontent.com" "$work/Aim.Sdk.pdb"
check "Aim.Cli: a dotnet tool named aim"         grep -q '"aim"\|Command Name="aim"' <<<"$(unzip -p "$feed/Aim.Cli.$version.nupkg" tools/net10.0/any/DotnetToolSettings.xml)"

# --- fresh apps that see Aim packages only in the folder ---------------------------------------------------------------
mkdir -p "$work/apps"
cat >"$work/apps/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="aim-local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="aim-local"><package pattern="Aim.*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML

new_app() { # new_app <template> <name> <package...>: creates apps/<name> and adds the packages
  local template="$1" name="$2"; shift 2
  mkdir -p "$work/apps/$name"
  (cd "$work/apps/$name" && dotnet new "$template" -n "$name" -o . --framework net10.0 >/dev/null) || return 1
  for package in "$@"; do
    (cd "$work/apps/$name" && dotnet add package "$package" --version "$version" >>"$work/$name-add.log" 2>&1) || { cat "$work/$name-add.log"; return 1; }
  done
}
build_app() { # build_app <name>: builds in Release, output in <name>-build.log
  (cd "$work/apps/$1" && dotnet build -c Release -nologo >"$work/$1-build.log" 2>&1)
}

echo "== console app (Aim.Sdk)"
name=PkgConsole
new_app console "$name" Aim.Sdk || fail_now /dev/null "console app adds Aim.Sdk"
cat >"$work/apps/$name/Program.cs" <<'CS'
using Aim;

string home = Path.Combine(Path.GetTempPath(), "aim-pkgtest-home-" + Guid.NewGuid().ToString("N"));
try
{
    using var agent = AimAgent.Secure("pkg-test-agent", o => { o.Home = home; o.Grant("db:read"); });
    var tools = new Tools();
    Console.WriteLine("read=" + tools.Read(21));
    try
    {
        tools.Drop("orders");
        Console.WriteLine("drop returned");
    }
    catch (ActionDeniedException)
    {
        Console.WriteLine("drop denied");
    }

    Console.WriteLine("drop bodies=" + Tools.DropBodies);
    var manifest = typeof(Tools).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
        .Cast<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "Aim.Capabilities")?.Value;
    Console.WriteLine("manifest=" + (manifest?.Contains("\"db:drop\"") == true ? "yes" : "no"));
}
finally
{
    if (Directory.Exists(home)) Directory.Delete(home, recursive: true);
}

public sealed class Tools
{
    public static int DropBodies;

    [SecureAction("db:read")]
    public int Read(int x) => x * 2;

    [SecureAction("db:drop", JitAccess = true)]
    public void Drop(string table) => DropBodies++;

    [SecureAction("payment:refund", RiskLevel = RiskLevel.Low, JitAccess = true)]   // AIM002 expected
    public void Refund(decimal amount) { }

    [SecureAction("admin:wipe")]                                                     // AIM004 expected
    public void Wipe() { }
}
CS
build_ok=0; build_app "$name" && build_ok=1
check "console: builds with only the packages"      test "$build_ok" = 1
check "console: build output shows AIM002"          grep -q "warning AIM002" "$work/$name-build.log"
check "console: build output shows AIM004"          grep -q "warning AIM004" "$work/$name-build.log"
check "console: the generator ran (no CS8785)"      bash -c '! grep -q CS8785 "$0"' "$work/$name-build.log"
[ "$build_ok" = 1 ] || cat "$work/$name-build.log"
(cd "$work/apps/$name" && timeout 120 dotnet run -c Release --no-build >"$work/$name-run.log" 2>&1) || true
cat "$work/$name-run.log"
check "console: granted call intercepted, returns"  grep -qx "read=42" "$work/$name-run.log"
check "console: denied call throws"                 grep -qx "drop denied" "$work/$name-run.log"
check "console: denied call never ran its body"     grep -qx "drop bodies=0" "$work/$name-run.log"
check "console: capability manifest embedded"       grep -qx "manifest=yes" "$work/$name-run.log"

echo "== ASP.NET Core app (Aim.AspNetCore)"
name=PkgWeb
new_app web "$name" Aim.AspNetCore || fail_now /dev/null "web app adds Aim.AspNetCore"
# AIM005: the endpoint filter, not an interceptor, guards handlers that routing calls through a delegate.
sed -i 's|<PropertyGroup>|<PropertyGroup><NoWarn>$(NoWarn);AIM005</NoWarn>|' "$work/apps/$name/$name.csproj"
cat >"$work/apps/$name/Program.cs" <<'CS'
using Aim;
using Aim.AspNetCore;

string home = Path.Combine(Path.GetTempPath(), "aim-pkgweb-home-" + Guid.NewGuid().ToString("N"));
var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Services.AddAim(o => { o.AgentName = "pkg-web"; o.Home = home; o.Grant("orders:read"); });
var app = builder.Build();
app.MapGet("/orders", Handlers.ReadOrders).WithAim();
app.MapDelete("/orders", Handlers.DeleteOrders).WithAim();
await app.StartAsync();
try
{
    using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
    using var read = await http.GetAsync("/orders");
    Console.WriteLine($"read={(int)read.StatusCode} {await read.Content.ReadAsStringAsync()}");
    using var delete = await http.DeleteAsync("/orders");
    Console.WriteLine($"delete={(int)delete.StatusCode}");
    Console.WriteLine($"delete bodies={Handlers.DeleteBodies}");
}
finally
{
    await app.StopAsync();
    if (Directory.Exists(home)) Directory.Delete(home, recursive: true);
}

public static class Handlers
{
    public static int DeleteBodies;

    [SecureAction("orders:read")]
    public static string ReadOrders() => "2 orders";

    [SecureAction("orders:delete", JitAccess = true)]
    public static string DeleteOrders()
    {
        DeleteBodies++;
        return "deleted";
    }
}
CS
build_ok=0; build_app "$name" && build_ok=1
check "web: builds with only the packages"          test "$build_ok" = 1
[ "$build_ok" = 1 ] || cat "$work/$name-build.log"
(cd "$work/apps/$name" && timeout 120 dotnet run -c Release --no-build >"$work/$name-run.log" 2>&1) || true
cat "$work/$name-run.log"
check "web: granted endpoint answers 200"           grep -qx "read=200 2 orders" "$work/$name-run.log"
check "web: denied endpoint answers 403"            grep -qx "delete=403" "$work/$name-run.log"
check "web: denied endpoint never ran its body"     grep -qx "delete bodies=0" "$work/$name-run.log"

echo "== MCP server app (Aim.Mcp)"
name=PkgMcp
new_app console "$name" Aim.Mcp || fail_now /dev/null "MCP app adds Aim.Mcp"
(cd "$work/apps/$name" && dotnet add package Microsoft.Extensions.Hosting >>"$work/$name-add.log" 2>&1) || cat "$work/$name-add.log"
# AIM005: the MCP SDK calls tool methods through reflection; the Aim tools/call filter guards them.
sed -i 's|<PropertyGroup>|<PropertyGroup><NoWarn>$(NoWarn);AIM005</NoWarn>|' "$work/apps/$name/$name.csproj"
cat >"$work/apps/$name/Program.cs" <<'CS'
using System.ComponentModel;
using Aim;
using Aim.Mcp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Server;

// "serve": the protected MCP server over stdio; otherwise a client that starts it and calls two tools.
if (args is ["serve", ..])
{
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.ClearProviders();
    builder.Services.AddAim(o => { o.AgentName = "pkg-mcp"; o.Grant("db:read@orders"); });
    builder.Services.AddMcpServer().WithStdioServerTransport().WithTools<OrderTools>().WithAim(o => o.RequireToken = false);
    await builder.Build().RunAsync();
    return 0;
}

string home = Path.Combine(Path.GetTempPath(), "aim-pkgmcp-home-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(home);
try
{
    var transport = new StdioClientTransport(new StdioClientTransportOptions
    {
        Name = "pkg-mcp",
        Command = "dotnet",
        Arguments = [typeof(OrderTools).Assembly.Location, "serve"],
        EnvironmentVariables = new Dictionary<string, string?> { ["AIM_HOME"] = home },
    });
    await using (var client = await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = "2025-11-25" }))
    {
        var lookup = await client.CallToolAsync("lookup_order", new Dictionary<string, object?> { ["orderId"] = "A-1" });
        Console.WriteLine("lookup=" + (McpCallRefusal.ReadCode(lookup) ?? string.Join(" ", lookup.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(t => t.Text))));
        var update = await client.CallToolAsync("update_order", new Dictionary<string, object?> { ["orderId"] = "A-1" });
        Console.WriteLine("update=" + (McpCallRefusal.ReadCode(update) ?? "ran"));
    }

    string log = Path.Combine(home, "calls.log");
    Console.WriteLine("bodies=" + (File.Exists(log) ? string.Join(",", File.ReadAllLines(log)) : string.Empty));
    return 0;
}
finally
{
    Directory.Delete(home, recursive: true);
}

[McpServerToolType]
public sealed class OrderTools
{
    [McpServerTool(Name = "lookup_order"), Description("Looks up an order.")]
    [SecureAction("db:read", Resource = "orders")]
    public static string LookupOrder(string orderId)
    {
        Ran("lookup_order");
        return "order " + orderId;
    }

    [McpServerTool(Name = "update_order"), Description("Changes an order (not granted).")]
    [SecureAction("db:write", Resource = "orders")]
    public static string UpdateOrder(string orderId)
    {
        Ran("update_order");
        return "updated " + orderId;
    }

    private static void Ran(string tool) =>
        File.AppendAllText(Path.Combine(Environment.GetEnvironmentVariable("AIM_HOME")!, "calls.log"), tool + Environment.NewLine);
}
CS
build_ok=0; build_app "$name" && build_ok=1
check "mcp: builds with only the packages"          test "$build_ok" = 1
[ "$build_ok" = 1 ] || cat "$work/$name-build.log"
(cd "$work/apps/$name" && timeout 180 dotnet run -c Release --no-build >"$work/$name-run.log" 2>&1) || true
cat "$work/$name-run.log"
check "mcp: granted tool runs"                      grep -qx "lookup=order A-1" "$work/$name-run.log"
check "mcp: denied tool is refused"                 grep -qx "update=capability_not_granted" "$work/$name-run.log"
check "mcp: denied tool never ran its body"         grep -qx "bodies=lookup_order" "$work/$name-run.log"

# --- the tools ------------------------------------------------------------------------------------------------------
echo "== dotnet tool install (aim, aim-server, aim-gateway)"
tools="$work/tools"
for tool in Aim.Cli Aim.Server Aim.Gateway; do
  install_ok=0
  dotnet tool install "$tool" --tool-path "$tools" --add-source "$feed" --version "$version" >"$work/install-$tool.log" 2>&1 && install_ok=1
  check "dotnet tool install $tool"                 test "$install_ok" = 1
  [ "$install_ok" = 1 ] || cat "$work/install-$tool.log"
done
export AIM_HOME="$work/aim-home"
"$tools/aim" --version >"$work/aim-version.log" 2>&1 || true
"$tools/aim" risk payment:refund >"$work/aim-risk.log" 2>&1 || true
cat "$work/aim-version.log" "$work/aim-risk.log"
check "aim --version prints the version"            grep -qE "^[0-9]+\.[0-9]+\.[0-9]+" "$work/aim-version.log"
check "aim risk payment:refund says critical"       grep -q "^payment:refund: critical" "$work/aim-risk.log"

free_port() { local p; for _ in $(seq 1 100); do p=$(( 20000 + RANDOM % 40000 )); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; return 1; }
wait_for() { # wait_for <seconds> <command...>
  local deadline=$(( SECONDS + $1 )); shift
  until "$@" >/dev/null 2>&1; do [ "$SECONDS" -lt "$deadline" ] || return 1; sleep 0.5; done
}

AIM_ADMIN_KEY="aim_pkgtest_$(date +%s%N)" "$tools/aim-server" --urls http://127.0.0.1:0 --data "$work/server-data" >"$work/server.log" 2>&1 &
server_pid=$!
wait_for 90 grep -q "listening on" "$work/server.log" || true
cat "$work/server.log"
server_url="$(grep -o "listening on http://127.0.0.1:[0-9]*" "$work/server.log" | head -1 | sed 's/listening on //')"
check "aim-server prints its address and dashboard" grep -qE "listening on http://127.0.0.1:[0-9]+; dashboard: http://127.0.0.1:[0-9]+/dashboard" "$work/server.log"
check "aim-server answers /health"                  bash -c 'curl -fsS "$0/health" | grep -q "\"ok\""' "$server_url"
check "aim-server sends / to the dashboard"         bash -c '[ "$(curl -s -o /dev/null -w "%{http_code} %{redirect_url}" "$0/")" = "302 $0/dashboard" ]' "$server_url"
kill "$server_pid" 2>/dev/null || true; server_pid=""

root_id="$("$tools/aim" identity create --agent gateway-root 2>/dev/null || true)"
gw_port="$(free_port)"; up_port="$(free_port)"
cat >"$work/gateway.json" <<JSON
{ "listen": "http://127.0.0.1:$gw_port", "upstream": "http://127.0.0.1:$up_port", "trustedKeys": ["$root_id"],
  "requireToken": true, "agentName": "pkg-gateway", "home": "$work/gateway-home" }
JSON
"$tools/aim-gateway" --config "$work/gateway.json" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
wait_for 90 curl -s -o /dev/null "http://127.0.0.1:$gw_port/mcp" || true
curl -s -X POST -H "Content-Type: application/json" -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "http://127.0.0.1:$gw_port/mcp" >"$work/gateway-answer.json" 2>&1 || true
cat "$work/gateway.log" "$work/gateway-answer.json"; echo
check "aim-gateway refuses a request without a token" grep -q '"code":"aip_token_missing"' "$work/gateway-answer.json"
kill "$gateway_pid" 2>/dev/null || true; gateway_pid=""

finish

#!/usr/bin/env bash
# Package acceptance test (issue 3): pack Aim.Sdk, create a brand-new console app in a temp folder that
# adds only that package from a local folder source, build it and run it. Passes when
#   - the build output shows AIM002 (wrong risk level) and AIM004 (critical without JIT) from the packed analyzers,
#   - the run shows interception: a granted call returns its value, a denied call never runs its body,
#   - the assembly carries the Aim.Capabilities manifest.
# Usage: bash tests/Aim.Sdk.PackageTests/run.sh   (exit 0 = pass; prints "N passed, M failed")
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/aim-pkgtest.XXXXXX")"
[ -n "${AIM_PKGTEST_KEEP:-}" ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
# A unique version per run, so the NuGet cache never serves an older build of the package.
version="0.1.0-pkgtest.$(date +%s)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Pack from a copy of the work tree, so a pack never rewrites obj/ files that a concurrent build is using.
echo "== copy sources"
mkdir -p "$work/src"
tar -C "$repo" --exclude=./.git --exclude='*/bin' --exclude='*/obj' -cf - . | tar -C "$work/src" -xf -

echo "== pack Aim.Sdk $version"
dotnet pack "$work/src/src/Aim.Sdk/Aim.Sdk.csproj" -c Release -o "$work/feed" -p:Version="$version" -nologo -v:q >"$work/pack.log" 2>&1 \
  || { cat "$work/pack.log"; echo "0 passed, 1 failed"; exit 1; }
nupkg="$work/feed/Aim.Sdk.$version.nupkg"

passed=0; failed=0
check() { # check <description> <command...>
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed+1)); echo "PASS $what"; else failed=$((failed+1)); echo "FAIL $what"; fi
}

listing="$(unzip -l "$nupkg")"
check "package has the runtime in lib/"            grep -q "lib/net10.0/Aim.Sdk.dll" <<<"$listing"
check "package bundles Aim.Core and Aim.Crypto"    grep -q "lib/net10.0/Aim.Crypto.dll" <<<"$(grep "lib/net10.0/Aim.Core.dll" <<<"$listing" >/dev/null && echo "$listing")"
check "package has the generator"                  grep -q "analyzers/dotnet/cs/Aim.Sdk.Generators.dll" <<<"$listing"
check "package has the code fixes"                 grep -q "analyzers/dotnet/cs/Aim.Sdk.CodeFixes.dll" <<<"$listing"
check "package has buildTransitive targets"        grep -q "buildTransitive/Aim.Sdk.targets" <<<"$listing"
nuspec="$(unzip -p "$nupkg" Aim.Sdk.nuspec)"
check "no dependency on unpublished Aim.Core"      bash -c '! grep -q "id=\"Aim.Core\"" <<<"$0"' "$nuspec"

echo "== new console app"
mkdir -p "$work/app"
cd "$work/app"
dotnet new console -n PkgApp -o . --framework net10.0 >/dev/null
cat > nuget.config <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="aim-local" value="$work/feed" />
  </packageSources>
</configuration>
XML
dotnet add package Aim.Sdk --version "$version" >"$work/add.log" 2>&1 || { cat "$work/add.log"; echo "$passed passed, $((failed+1)) failed"; exit 1; }

cat > Program.cs <<'CS'
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

echo "== build"
build_ok=0
dotnet build -c Release -nologo >"$work/build.log" 2>&1 && build_ok=1
check "app builds with only the package"           test "$build_ok" = 1
check "build output shows AIM002"                  grep -q "warning AIM002" "$work/build.log"
check "build output shows AIM004"                  grep -q "warning AIM004" "$work/build.log"
check "the generator ran without failing (no CS8785)" bash -c '! grep -q CS8785 "$0"' "$work/build.log"
grep -E "warning|error" "$work/build.log" | sort -u | head -20
[ "$build_ok" = 1 ] || cat "$work/build.log"

echo "== run"
dotnet run -c Release --no-build >"$work/run.log" 2>&1 || true
cat "$work/run.log"
check "granted call is intercepted and returns"    grep -qx "read=42" "$work/run.log"
check "denied call throws ActionDeniedException"   grep -qx "drop denied" "$work/run.log"
check "denied call never ran its body"             grep -qx "drop bodies=0" "$work/run.log"
check "assembly carries the capability manifest"   grep -qx "manifest=yes" "$work/run.log"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/Aim.Benchmarks -- --filter '*'   (see benchmarks/README.md)
// --peers-fixture FILE / --peers-measure FILE [seconds]: Aim's side of benchmarks/compare.sh (PeerComparison).
// --call-path [seconds]: the embedded call path per call, caller-thread allocations, paced and back to back (CallPathProbe).
// --audit-threads [entries]: durable appends with each thread's CPU per entry, to find the pipeline's bound (AuditAppendProbe).
if (!Aim.Benchmarks.PeerComparison.TryRun(args) && !Aim.Benchmarks.CallPathProbe.TryRun(args) && !Aim.Benchmarks.AuditAppendProbe.TryRun(args))
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}

/// <summary>Entry point marker for BenchmarkSwitcher.</summary>
public partial class Program;

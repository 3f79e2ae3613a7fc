using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/Aim.Benchmarks -- --filter '*'   (see benchmarks/README.md)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point marker for BenchmarkSwitcher.</summary>
public partial class Program;

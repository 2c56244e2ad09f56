using BenchmarkDotNet.Running;

namespace Assp.Bench;

public static class Program
{
    /// <summary>
    /// `dotnet run -c Release -- lists` runs the quick list benchmark (loads/s, matches/s, with a naive
    /// baseline in the same run); `-- storage` the storage benchmark (open time and lookups/s of the SQLite store
    /// against a Dictionary); `-- regex` the content regex checks over the corpus; anything else goes to BenchmarkDotNet's switcher.
    /// </summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "lists") return ListLoadBenchmark.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "storage") return StorageBenchmark.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "decisions") return DecisionBenchmark.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "prechecks") return PrecheckBenchmark.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "dns") return DnsBenchmark.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "accuracy") return AccuracyBenchmark.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "accuracy-cv") return AccuracyCvBenchmark.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "bayes-speed") return BayesSpeedBenchmark.Run(args.Skip(1).ToArray());
        if (args.Length > 0 && args[0] == "regex") return RegexFilterBenchmark.Run(args.Skip(1).ToArray());
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}

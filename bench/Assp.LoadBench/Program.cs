namespace Assp.LoadBench;

public static class Program
{
    /// <summary>
    /// `dotnet run -c Release --project bench/Assp.LoadBench -- [options]`; see <see cref="BenchOptions.Usage"/>
    /// and bench/README.md.
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        var options = BenchOptions.Parse(args, out string? error);
        if (options is null)
        {
            await Console.Error.WriteLineAsync($"error: {error}\n(--help lists the options)");
            return 2;
        }
        if (options.Help)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }

        using var interrupt = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // First Ctrl+C: stop the runs and clean up (children are stopped in finally blocks). Second: die.
            if (interrupt.IsCancellationRequested) return;
            e.Cancel = true;
            interrupt.Cancel();
        };
        try
        {
            return options.SelfTest
                ? await SelfTest.RunAsync(Console.Out, interrupt.Token)
                : await Bench.RunAsync(options, Console.Out, interrupt.Token);
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("interrupted");
            return 130;
        }
    }
}

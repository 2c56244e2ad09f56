using System.Diagnostics;

namespace Assp.LoadBench;

/// <summary>One reading of the proxy process from /proc.</summary>
internal sealed record ProcSample(double Seconds, int Round, string Phase, double? RssMb, double? AnonMb, int? Fds, int? Threads);

/// <summary>
/// Reads the proxy's RSS, anonymous memory (RssAnon: the GC heap and native allocations, without mapped files), open
/// descriptors and threads from /proc once a second in the background, tagged with the round and phase it was in.
/// </summary>
internal sealed class ProcessSampler : IAsyncDisposable
{
    private readonly int _pid;
    private readonly List<ProcSample> _samples = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly long _started = Stopwatch.GetTimestamp();
    private volatile string _phase = "start";
    private volatile int _round;

    public ProcessSampler(int pid, TimeSpan every)
    {
        _pid = pid;
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(every);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false)) Take();
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    /// <summary>Labels the samples that follow.</summary>
    public void Enter(int round, string phase)
    {
        _round = round;
        _phase = phase;
    }

    /// <summary>Takes a sample now (besides the periodic ones) and returns it.</summary>
    public ProcSample Take()
    {
        var s = new ProcSample(Stopwatch.GetElapsedTime(_started).TotalSeconds, _round, _phase,
            ProcFs.StatusMb(_pid, "VmRSS"), ProcFs.StatusMb(_pid, "RssAnon"), ProcFs.OpenFds(_pid), ProcFs.Threads(_pid));
        lock (_samples) _samples.Add(s);
        return s;
    }

    public List<ProcSample> Samples(int round)
    {
        lock (_samples) return _samples.Where(s => s.Round == round).ToList();
    }

    public List<ProcSample> All()
    {
        lock (_samples) return [.. _samples];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}

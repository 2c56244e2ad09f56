using System.Diagnostics;
using Assp.Smtp.Session;

namespace Assp.Smtp.Tests;

public class ReadDeadlineTests
{
    [Fact]
    public async Task A_read_that_waits_too_long_is_cancelled()
    {
        using var deadline = new ReadDeadline(CancellationToken.None);
        var watch = Stopwatch.StartNew();
        var token = deadline.Start(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(5000, token));
        Assert.InRange(watch.ElapsedMilliseconds, 150, 3000);
    }

    [Fact]
    public async Task Moving_the_deadline_keeps_reads_alive_and_a_stopped_one_never_fires()
    {
        using var deadline = new ReadDeadline(CancellationToken.None);
        CancellationToken token = default;
        // Eight moves of a 1 s deadline, 200 ms apart: far past one deadline in total, never past one between moves
        // (unless the machine stalls a whole second).
        for (int i = 0; i < 8; i++)
        {
            token = deadline.Start(TimeSpan.FromSeconds(1));
            await Task.Delay(200);
            deadline.Stop();
        }
        Assert.False(token.IsCancellationRequested);
        await Task.Delay(1500);
        Assert.False(token.IsCancellationRequested);
    }

    [Fact]
    public async Task After_an_expiry_the_next_read_gets_a_fresh_token()
    {
        using var deadline = new ReadDeadline(CancellationToken.None);
        var first = deadline.Start(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(5000, first));
        var second = deadline.Start(TimeSpan.FromSeconds(30));
        Assert.False(second.IsCancellationRequested);
        var shorter = deadline.Start(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(5000, shorter));
    }

    [Fact]
    public void The_outer_token_cancels_too_and_infinite_means_only_that()
    {
        using var outer = new CancellationTokenSource();
        using var deadline = new ReadDeadline(outer.Token);
        var token = deadline.Start(Timeout.InfiniteTimeSpan);
        Assert.False(token.IsCancellationRequested);
        outer.Cancel();
        Assert.True(token.IsCancellationRequested);
    }
}

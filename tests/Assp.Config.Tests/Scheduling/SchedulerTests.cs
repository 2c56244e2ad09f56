using System.Collections.Concurrent;
using Assp.Config.Scheduling;

namespace Assp.Config.Tests.Scheduling;

public class SchedulerTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly DateTimeOffset Start = new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset At(int h, int m = 0, int day = 1) => new(2027, 1, day, h, m, 0, TimeSpan.Zero);

    private static Func<Schedule> Cron(string text) => () => Schedule.Parse(text, Hour);

    /// <summary>A scheduler on a manual UTC clock that collects its log lines.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        public Rig(DateTimeOffset? start = null, TimeZoneInfo? zone = null)
        {
            Clock = new ManualClock(start ?? Start, zone);
            Scheduler = new Scheduler(Clock, log: Log.Enqueue);
        }

        public ManualClock Clock { get; }
        public Scheduler Scheduler { get; }
        public ConcurrentQueue<string> Log { get; } = new();

        public JobStatus Job(string name) => Scheduler.Jobs.Single(j => j.Name == name);

        /// <summary>Moves the clock to <paramref name="target"/> one timer firing at a time, letting started runs finish in between.</summary>
        public async Task RunUntil(DateTimeOffset target)
        {
            while (Clock.NextDue is { } due && due <= target)
            {
                Clock.AdvanceTo(due);
                await Scheduler.WhenIdleAsync();
            }
            Clock.AdvanceTo(target);
            await Scheduler.WhenIdleAsync();
        }

        public ValueTask DisposeAsync() => Scheduler.DisposeAsync();
    }

    /// <summary>A job that records the clock time of each start.</summary>
    private static Func<CancellationToken, Task> Recorder(TimeProvider clock, ConcurrentQueue<DateTimeOffset> starts) => _ =>
    {
        starts.Enqueue(clock.GetUtcNow());
        return Task.CompletedTask;
    };

    [Fact]
    public async Task Runs_a_job_when_due_and_rearms_for_the_next_time()
    {
        await using var rig = new Rig();
        var starts = new ConcurrentQueue<DateTimeOffset>();
        rig.Scheduler.AddOrUpdate("daily", Cron("0 3 * * *"), Recorder(rig.Clock, starts));
        rig.Scheduler.Start();

        Assert.Equal(At(3), rig.Job("daily").NextRun);
        await rig.RunUntil(At(2, 59));
        Assert.Empty(starts);

        await rig.RunUntil(At(3));
        Assert.Equal([At(3)], starts);
        Assert.Equal(At(3, 0, day: 2), rig.Job("daily").NextRun);

        await rig.RunUntil(At(12, 0, day: 3));
        Assert.Equal([At(3), At(3, 0, day: 2), At(3, 0, day: 3)], starts);
        Assert.Equal(3, rig.Job("daily").Runs);
    }

    [Fact]
    public async Task Uses_one_timer_for_all_jobs_armed_at_the_earliest_run()
    {
        await using var rig = new Rig();
        var noop = Recorder(rig.Clock, new());
        rig.Scheduler.AddOrUpdate("a", Cron("0 3 * * *"), noop);
        rig.Scheduler.AddOrUpdate("b", Cron("20 0 * * *"), noop);
        rig.Scheduler.Start();
        rig.Scheduler.AddOrUpdate("c", Cron("10 0 * * *"), noop);
        rig.Scheduler.AddOrUpdate("d", () => Schedule.Every(TimeSpan.FromMinutes(5)), noop);

        Assert.Equal(1, rig.Clock.TimersCreated);
        Assert.Equal(1, rig.Clock.ArmedTimers);
        Assert.Equal(At(0, 5), rig.Clock.NextDue);
        rig.Scheduler.Remove("d");
        Assert.Equal(At(0, 10), rig.Clock.NextDue);
    }

    [Fact]
    public async Task Long_waits_are_split_into_hour_long_sleeps()
    {
        await using var rig = new Rig();
        var starts = new ConcurrentQueue<DateTimeOffset>();
        rig.Scheduler.AddOrUpdate("monthly", Cron("0 0 1 * *"), Recorder(rig.Clock, starts));
        rig.Scheduler.Start();

        Assert.Equal(At(1), rig.Clock.NextDue);
        await rig.RunUntil(new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal([new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero)], starts);
    }

    [Fact]
    public async Task Skips_a_run_that_comes_due_while_the_previous_one_is_still_running()
    {
        await using var rig = new Rig();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var concurrent = 0;
        var maxConcurrent = 0;
        rig.Scheduler.AddOrUpdate("slow", Cron("*/5 * * * *"), async _ =>
        {
            var now = Interlocked.Increment(ref concurrent);
            InterlockedMax(ref maxConcurrent, now);
            await release.Task;
            Interlocked.Decrement(ref concurrent);
        });
        rig.Scheduler.Start();

        rig.Clock.AdvanceTo(At(0, 5));
        Assert.True(rig.Job("slow").IsRunning);
        rig.Clock.AdvanceTo(At(0, 10));
        rig.Clock.AdvanceTo(At(0, 12));
        rig.Clock.AdvanceTo(At(0, 15));

        var status = rig.Job("slow");
        Assert.Equal(1, status.Runs);
        Assert.Equal(2, status.Skips);
        Assert.Equal("skipped: still running", status.LastResult);
        Assert.Equal(At(0, 20), status.NextRun);
        Assert.Contains(rig.Log, l => l.Contains("'slow'", StringComparison.Ordinal) && l.Contains("skipped", StringComparison.Ordinal));

        release.SetResult();
        await rig.Scheduler.WhenIdleAsync();
        status = rig.Job("slow");
        Assert.False(status.IsRunning);
        Assert.Equal("ok", status.LastResult);
        Assert.Equal(TimeSpan.FromMinutes(10), status.LastDuration);
        Assert.Equal(At(0, 5), status.LastStart);

        await rig.RunUntil(At(0, 20));
        Assert.Equal(2, rig.Job("slow").Runs);
        Assert.Equal(1, maxConcurrent);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }

    [Fact]
    public async Task Failures_are_logged_and_recorded_without_stopping_other_jobs()
    {
        await using var rig = new Rig();
        var good = new ConcurrentQueue<DateTimeOffset>();
        rig.Scheduler.AddOrUpdate("broken", Cron("0 * * * *"), _ => Task.FromException(new InvalidOperationException("boom")), "always fails");
        rig.Scheduler.AddOrUpdate("throws", Cron("0 * * * *"), _ => throw new IOException("disk gone"));
        rig.Scheduler.AddOrUpdate("good", Cron("0 * * * *"), Recorder(rig.Clock, good));
        rig.Scheduler.Start();

        await rig.RunUntil(At(2));

        Assert.Equal([At(1), At(2)], good);
        var broken = rig.Job("broken");
        Assert.Equal(2, broken.Runs);
        Assert.Equal(2, broken.Failures);
        Assert.Equal("failed: boom", broken.LastResult);
        Assert.Equal(At(3), broken.NextRun);
        var throws = rig.Job("throws");
        Assert.Equal(2, throws.Failures);
        Assert.Equal("failed: disk gone", throws.LastResult);
        Assert.Equal("ok", rig.Job("good").LastResult);
        Assert.Equal(0, rig.Job("good").Failures);
        Assert.Equal(2, rig.Log.Count(l => l == "scheduler: job 'broken' failed: InvalidOperationException: boom"));
        Assert.Equal(2, rig.Log.Count(l => l == "scheduler: job 'throws' failed: IOException: disk gone"));
    }

    [Theory]
    [InlineData(0, false, false)]
    [InlineData(1, false, true)]
    [InlineData(2, true, true)]
    public async Task ScheduleLog_decides_which_scheduler_lines_are_written(int level, bool runLines, bool skipLines)
    {
        var clock = new ManualClock(Start, null);
        var log = new ConcurrentQueue<string>();
        await using var scheduler = new Scheduler(clock, log: log.Enqueue) { LogLevel = () => level };
        var release = new TaskCompletionSource();
        scheduler.AddOrUpdate("good", Cron("0 * * * *"), _ => Task.CompletedTask);
        scheduler.AddOrUpdate("broken", Cron("0 * * * *"), _ => Task.FromException(new InvalidOperationException("boom")));
        scheduler.AddOrUpdate("slow", Cron("0 * * * *"), _ => release.Task);
        scheduler.Start();
        clock.AdvanceTo(At(1));
        clock.AdvanceTo(At(2));   // 'slow' still runs: this run is skipped
        release.SetResult();
        await scheduler.WhenIdleAsync();

        Assert.Contains("scheduler: job 'broken' failed: InvalidOperationException: boom", log);   // failures always
        Assert.Equal(runLines, log.Contains("scheduler: job 'good' started"));
        Assert.Equal(runLines, log.Any(l => l.StartsWith("scheduler: job 'good' finished after ", StringComparison.Ordinal) && l.EndsWith(": ok", StringComparison.Ordinal)));
        Assert.Equal(skipLines, log.Any(l => l.Contains("'slow' is due but still running", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RunNowAsync_runs_outside_the_schedule_and_waits_for_the_run()
    {
        await using var rig = new Rig();
        var starts = new ConcurrentQueue<DateTimeOffset>();
        rig.Scheduler.AddOrUpdate("manual", () => Schedule.Never, Recorder(rig.Clock, starts));
        rig.Scheduler.AddOrUpdate("failing", () => Schedule.Never, _ => throw new InvalidOperationException("nope"));
        rig.Scheduler.Start();
        Assert.Equal(0, rig.Clock.ArmedTimers); // nothing is due, so the one timer sleeps

        rig.Clock.Advance(TimeSpan.FromMinutes(7));
        await rig.Scheduler.RunNowAsync("manual");
        Assert.Equal([At(0, 7)], starts);
        var status = rig.Job("manual");
        Assert.Equal(1, status.Runs);
        Assert.Equal("ok", status.LastResult);
        Assert.Null(status.NextRun);
        Assert.Equal("never", status.Schedule);

        await rig.Scheduler.RunNowAsync("failing"); // does not throw: the failure is recorded
        Assert.Equal("failed: nope", rig.Job("failing").LastResult);
        Assert.Equal(1, rig.Job("failing").Failures);

        await Assert.ThrowsAsync<KeyNotFoundException>(() => rig.Scheduler.RunNowAsync("missing"));
    }

    [Fact]
    public async Task RunNowAsync_does_not_start_a_second_concurrent_run()
    {
        await using var rig = new Rig();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        rig.Scheduler.AddOrUpdate("slow", () => Schedule.Never, async _ =>
        {
            Interlocked.Increment(ref runs);
            await release.Task;
        });

        var first = rig.Scheduler.RunNowAsync("slow");
        var second = rig.Scheduler.RunNowAsync("slow");
        Assert.Same(first, second);
        Assert.Equal(1, rig.Job("slow").Skips);
        release.SetResult();
        await second;
        Assert.Equal(1, runs);
        Assert.Equal(1, rig.Job("slow").Runs);
        Assert.Equal("ok", rig.Job("slow").LastResult);
    }

    [Fact]
    public async Task Remove_stops_a_job_and_disarms_the_timer_when_nothing_is_left()
    {
        await using var rig = new Rig();
        var a = new ConcurrentQueue<DateTimeOffset>();
        var b = new ConcurrentQueue<DateTimeOffset>();
        rig.Scheduler.AddOrUpdate("a", Cron("*/10 * * * *"), Recorder(rig.Clock, a));
        rig.Scheduler.AddOrUpdate("b", Cron("*/10 * * * *"), Recorder(rig.Clock, b));
        rig.Scheduler.Start();
        await rig.RunUntil(At(0, 10));

        rig.Scheduler.Remove("a");
        rig.Scheduler.Remove("not-there"); // harmless
        Assert.Equal(["b"], rig.Scheduler.Jobs.Select(j => j.Name));
        await rig.RunUntil(At(0, 30));
        Assert.Equal([At(0, 10)], a);
        Assert.Equal([At(0, 10), At(0, 20), At(0, 30)], b);

        rig.Scheduler.Remove("b");
        Assert.Empty(rig.Scheduler.Jobs);
        Assert.Equal(0, rig.Clock.ArmedTimers);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => rig.Scheduler.RunNowAsync("a"));
    }

    [Fact]
    public async Task Refresh_picks_up_a_changed_schedule()
    {
        await using var rig = new Rig();
        var config = "0 3 * * *";
        var starts = new ConcurrentQueue<DateTimeOffset>();
        rig.Scheduler.AddOrUpdate("rebuild", () => Schedule.Parse(config, Hour), Recorder(rig.Clock, starts));
        rig.Scheduler.Start();
        Assert.Equal(At(3), rig.Job("rebuild").NextRun);

        config = "30 4 * * *"; // a config reload
        Assert.Equal(At(3), rig.Job("rebuild").NextRun);
        rig.Scheduler.Refresh();
        Assert.Equal(At(4, 30), rig.Job("rebuild").NextRun);
        Assert.Equal("30 4 * * *", rig.Job("rebuild").Schedule);
        Assert.Contains("scheduler: job 'rebuild' schedule is now '30 4 * * *'", rig.Log);

        await rig.RunUntil(At(5));
        Assert.Equal([At(4, 30)], starts);

        config = "noschedule";
        rig.Scheduler.Refresh();
        Assert.Null(rig.Job("rebuild").NextRun);
        Assert.Equal(0, rig.Clock.ArmedTimers);
    }

    [Fact]
    public async Task A_throwing_schedule_source_keeps_the_previous_schedule()
    {
        await using var rig = new Rig();
        var config = "0 3 * * *";
        rig.Scheduler.AddOrUpdate("job", () => Schedule.Parse(config, Hour), Recorder(rig.Clock, new()));
        rig.Scheduler.Start();

        config = "not a schedule";
        rig.Scheduler.Refresh();
        Assert.Equal("0 3 * * *", rig.Job("job").Schedule);
        Assert.Equal(At(3), rig.Job("job").NextRun);
        Assert.Contains(rig.Log, l => l.StartsWith("scheduler: cannot read the schedule of job 'job', keeping '0 3 * * *'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_schedule_is_reread_after_each_run()
    {
        await using var rig = new Rig();
        var config = "*/10 * * * *";
        var starts = new ConcurrentQueue<DateTimeOffset>();
        rig.Scheduler.AddOrUpdate("job", () => Schedule.Parse(config, Hour), _ =>
        {
            starts.Enqueue(rig.Clock.GetUtcNow());
            config = "0 12 * * *"; // the job itself (or a reload during it) changes the option
            return Task.CompletedTask;
        });
        rig.Scheduler.Start();

        await rig.RunUntil(At(0, 10));
        Assert.Equal(At(12), rig.Job("job").NextRun); // no Refresh() needed
        await rig.RunUntil(At(13));
        Assert.Equal([At(0, 10), At(12)], starts);
    }

    [Fact]
    public async Task Interval_jobs_keep_their_cadence_across_refreshes_until_the_interval_changes()
    {
        await using var rig = new Rig();
        var config = "2";
        var starts = new ConcurrentQueue<DateTimeOffset>();
        rig.Scheduler.AddOrUpdate("cleanup", () => Schedule.Parse(config, Hour), Recorder(rig.Clock, starts), "CleanPBInterval");
        rig.Scheduler.Start();
        Assert.Equal(At(2), rig.Job("cleanup").NextRun);
        Assert.Equal("every 2h", rig.Job("cleanup").Schedule);

        await rig.RunUntil(At(3));
        rig.Scheduler.Refresh(); // unchanged: the 04:00 run is not pushed back
        Assert.Equal(At(4), rig.Job("cleanup").NextRun);
        await rig.RunUntil(At(4, 30));
        Assert.Equal([At(2), At(4)], starts);

        config = "1";
        rig.Scheduler.Refresh();
        Assert.Equal(At(5, 30), rig.Job("cleanup").NextRun);
        await rig.RunUntil(At(7));
        Assert.Equal([At(2), At(4), At(5, 30), At(6, 30)], starts);
    }

    [Fact]
    public async Task A_late_timer_runs_once_and_does_not_replay_missed_runs()
    {
        await using var rig = new Rig();
        var starts = new ConcurrentQueue<DateTimeOffset>();
        rig.Scheduler.AddOrUpdate("job", Cron("*/5 * * * *"), Recorder(rig.Clock, starts));
        rig.Scheduler.Start();
        await rig.RunUntil(At(0, 5));

        // The machine slept through 00:10 .. 00:35; the timer armed for 00:10 fires at 00:37.
        rig.Clock.JumpTo(At(0, 37));
        await rig.RunUntil(At(0, 37));
        Assert.Equal([At(0, 5), At(0, 37)], starts);
        Assert.Equal(At(0, 40), rig.Job("job").NextRun);
    }

    [Fact]
    public async Task Jobs_lists_every_job_by_name_with_its_state()
    {
        await using var rig = new Rig();
        rig.Scheduler.AddOrUpdate("zeta", Cron("15 0 * * *"), _ => Task.CompletedTask, "last one");
        rig.Scheduler.AddOrUpdate("alpha", () => Schedule.Every(TimeSpan.FromMinutes(30)), _ => Task.CompletedTask);
        rig.Scheduler.AddOrUpdate("mid", () => Schedule.Never, _ => Task.CompletedTask, "manual only");
        rig.Scheduler.Start();
        await rig.RunUntil(At(0, 20));

        var jobs = rig.Scheduler.Jobs;
        Assert.Equal(["alpha", "mid", "zeta"], jobs.Select(j => j.Name));
        Assert.Equal(new JobStatus("alpha", null, "every 30m", null, null, null, At(0, 30), 0, 0), jobs[0]);
        Assert.Equal(new JobStatus("mid", "manual only", "never", null, null, null, null, 0, 0), jobs[1]);
        Assert.Equal(new JobStatus("zeta", "last one", "15 0 * * *", At(0, 15), TimeSpan.Zero, "ok", At(0, 15, day: 2), 1, 0), jobs[2]);

        // Updating a job keeps its counters and takes the new description.
        rig.Scheduler.AddOrUpdate("zeta", Cron("15 0 * * *"), _ => Task.CompletedTask, "renamed");
        Assert.Equal(1, rig.Job("zeta").Runs);
        Assert.Equal("renamed", rig.Job("zeta").Description);
    }

    [Fact]
    public async Task Dispose_stops_the_timer_cancels_and_waits_for_running_jobs()
    {
        var rig = new Rig();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = false;
        rig.Scheduler.AddOrUpdate("long", Cron("*/5 * * * *"), async ct =>
        {
            started.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                finished = true;
            }
        });
        rig.Scheduler.Start();
        rig.Clock.AdvanceTo(At(0, 5));
        await started.Task;

        await rig.Scheduler.DisposeAsync();
        Assert.True(finished);
        Assert.Equal(0, rig.Clock.ArmedTimers);
        Assert.Equal("cancelled: scheduler stopping", rig.Job("long").LastResult);
        Assert.Equal(0, rig.Job("long").Failures);
        Assert.Throws<ObjectDisposedException>(() => rig.Scheduler.AddOrUpdate("x", () => Schedule.Never, _ => Task.CompletedTask));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => rig.Scheduler.RunNowAsync("long"));
        await rig.Scheduler.DisposeAsync(); // twice is fine
    }

    [Fact]
    public async Task Dispose_gives_up_on_a_job_that_ignores_cancellation()
    {
        var clock = new ManualClock(Start);
        var log = new ConcurrentQueue<string>();
        var scheduler = new Scheduler(clock, log: log.Enqueue) { StopTimeout = TimeSpan.FromMilliseconds(200) };
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        scheduler.AddOrUpdate("stubborn", () => Schedule.Never, _ => release.Task);
        var run = scheduler.RunNowAsync("stubborn");

        await scheduler.DisposeAsync();
        Assert.False(run.IsCompleted);
        Assert.Contains("scheduler: 1 job(s) still running after 0.2s; not waiting any longer", log);
        release.SetResult();
        await run;
    }

    /// <summary>
    /// The RebuildSchedule year from <see cref="ScheduleTests"/>, driven through the scheduler and its
    /// one timer on a Berlin clock, plus a second job whose entries fall into the DST gap and repeat.
    /// </summary>
    [Fact]
    public async Task Simulated_year_through_the_scheduler_runs_every_expected_time_exactly_once()
    {
        var zone = ScheduleTests.Berlin;
        var clock = new ManualClock(ScheduleTests.YearStart - TimeSpan.FromMinutes(1), zone);
        var log = new ConcurrentQueue<string>();
        await using var scheduler = new Scheduler(clock, log: log.Enqueue);
        var rebuild = new ConcurrentQueue<DateTimeOffset>();
        var dst = new ConcurrentQueue<DateTimeOffset>();
        scheduler.AddOrUpdate("RebuildSchedule", Cron(ScheduleTests.RebuildSchedule), Recorder(clock, rebuild));
        scheduler.AddOrUpdate("dst", Cron(ScheduleTests.DstSchedule), Recorder(clock, dst));
        scheduler.Start();

        var wakeups = 0;
        while (clock.NextDue is { } due && due < ScheduleTests.YearEnd)
        {
            clock.AdvanceTo(due);
            await scheduler.WhenIdleAsync();
            wakeups++;
        }

        var expectedRebuild = ScheduleTests.BruteForce(ScheduleTests.RebuildPredicate);
        var expectedDst = ScheduleTests.BruteForce(ScheduleTests.DstPredicate);
        Assert.Equal(ScheduleTests.RebuildRunsIn2027, expectedRebuild.Count);
        Assert.Equal(ScheduleTests.DstRunsIn2027, expectedDst.Count);
        Assert.Equal(expectedRebuild, rebuild);
        Assert.Equal(expectedDst, dst);

        var jobs = scheduler.Jobs;
        Assert.Equal(ScheduleTests.RebuildRunsIn2027, jobs.Single(j => j.Name == "RebuildSchedule").Runs);
        Assert.Equal(ScheduleTests.DstRunsIn2027, jobs.Single(j => j.Name == "dst").Runs);
        Assert.All(jobs, j => Assert.Equal(0, j.Skips));
        Assert.All(jobs, j => Assert.Equal(0, j.Failures));
        Assert.Empty(log);
        Assert.Equal(1, clock.TimersCreated);
        // Never more than one wake-up per hour besides the runs themselves (8760 hours in 2027).
        Assert.InRange(wakeups, ScheduleTests.DstRunsIn2027, 8760 + ScheduleTests.DstRunsIn2027 + ScheduleTests.RebuildRunsIn2027);
    }
}

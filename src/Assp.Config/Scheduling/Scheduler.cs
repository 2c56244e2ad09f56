namespace Assp.Config.Scheduling;

/// <summary>
/// Runs named maintenance jobs on their <see cref="Schedule"/>s with a single timer that is always
/// re-armed to the earliest due job. A job never overlaps itself: a run that comes due while the
/// previous one is still going is skipped and counted. Job exceptions are caught, logged and recorded.
/// </summary>
public sealed class Scheduler : IAsyncDisposable
{
    private const string SkippedResult = "skipped: still running";

    // Never sleep longer than this in one go: the timer counts elapsed time, while schedules are
    // wall-clock times, so an adjusted system clock is noticed within the hour. It also keeps the
    // wait far below the timer's ~49-day limit.
    private static readonly TimeSpan MaxWait = TimeSpan.FromHours(1);

    private readonly TimeProvider _time;
    private readonly TimeZoneInfo _zone;
    private readonly Action<string>? _log;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _running = [];
    private readonly CancellationTokenSource _stopping = new();
    private ITimer? _timer;
    private bool _started;
    private bool _disposed;

    /// <param name="time">The clock and timer source (TimeProvider.System in production).</param>
    /// <param name="zone">The zone crontab entries are read in; defaults to the provider's local zone.</param>
    /// <param name="log">Receives one line per notable event (failures, skips, schedule changes).</param>
    public Scheduler(TimeProvider time, TimeZoneInfo? zone = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _zone = zone ?? time.LocalTimeZone;
        _log = log;
    }

    /// <summary>
    /// ScheduleLog: 0 writes only failures, 1 (standard) also skipped runs and schedule changes, 2 (verbose) also
    /// every start and end of a run. Without it everything but the start/end lines is written.
    /// </summary>
    public Func<int>? LogLevel { get; init; }

    private int Level => LogLevel?.Invoke() ?? 1;

    /// <summary>How long <see cref="DisposeAsync"/> waits for running jobs (real time) before giving up on them.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>All jobs, ordered by name.</summary>
    public IReadOnlyList<JobStatus> Jobs
    {
        get
        {
            lock (_gate)
            {
                return _jobs.Values.OrderBy(j => j.Name, StringComparer.Ordinal).Select(j => j.Status()).ToList();
            }
        }
    }

    /// <summary>
    /// Adds a job or replaces the schedule source, work and description of an existing one (its
    /// counters stay). <paramref name="schedule"/> is called again after every run and on
    /// <see cref="Refresh"/>, so it should read the current configuration.
    /// </summary>
    public void AddOrUpdate(string name, Func<Schedule> schedule, Func<CancellationToken, Task> job, string? description = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(job);
        var logs = new List<string>();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_jobs.TryGetValue(name, out var entry))
            {
                entry = new Job(name, schedule, job);
                _jobs.Add(name, entry);
            }
            entry.ScheduleSource = schedule;
            entry.Work = job;
            entry.Description = description;
            var now = _time.GetUtcNow();
            UpdateSchedule(entry, now, logs);
            Arm(now);
        }
        Emit(logs);
    }

    /// <summary>Removes a job. A run in progress finishes; <see cref="DisposeAsync"/> still waits for it.</summary>
    public void Remove(string name)
    {
        lock (_gate)
        {
            if (_jobs.Remove(name)) Arm(_time.GetUtcNow());
        }
    }

    /// <summary>Starts the timer. Jobs added before or after are scheduled from now on.</summary>
    public void Start()
    {
        var logs = new List<string>();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started) return;
            _started = true;
            _timer = _time.CreateTimer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            var now = _time.GetUtcNow();
            foreach (var job in _jobs.Values) UpdateSchedule(job, now, logs, force: true);
            Arm(now);
        }
        Emit(logs);
    }

    /// <summary>
    /// Re-reads every job's schedule (call it after a config reload) and recomputes the next runs.
    /// An interval job whose interval did not change keeps its next run, so frequent reloads
    /// cannot postpone it forever.
    /// </summary>
    public void Refresh()
    {
        var logs = new List<string>();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var now = _time.GetUtcNow();
            foreach (var job in _jobs.Values) UpdateSchedule(job, now, logs);
            Arm(now);
        }
        Emit(logs);
    }

    /// <summary>
    /// Runs a job now, outside its schedule, and completes when the run has finished (it never throws
    /// for a failing job: the failure is recorded). If the job is already running, nothing new is
    /// started, the skip is counted and the returned task is the run in progress.
    /// </summary>
    public Task RunNowAsync(string name)
    {
        var logs = new List<string>();
        Task task;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_jobs.TryGetValue(name, out var job)) throw new KeyNotFoundException($"there is no scheduled job named '{name}'");
            if (job.Running is { } running)
            {
                Skip(job, logs);
                task = running;
            }
            else
            {
                task = StartRun(job, _time.GetUtcNow());
            }
        }
        Emit(logs);
        return task;
    }

    /// <summary>Stops the timer, signals cancellation to running jobs and waits for them up to <see cref="StopTimeout"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] running;
        ITimer? timer;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            timer = _timer;
            _timer = null;
            running = [.. _running];
        }
        if (timer is not null) await timer.DisposeAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            // Real time on purpose: this bounds shutdown, it is not part of any schedule.
            await Task.WhenAll(running).WaitAsync(StopTimeout).ConfigureAwait(false);
            _stopping.Dispose();
        }
        catch (TimeoutException)
        {
            // The stragglers may still look at the token, so the source is left to the GC.
            Emit([$"scheduler: {running.Count(t => !t.IsCompleted)} job(s) still running after {StopTimeout.TotalSeconds:0.###}s; not waiting any longer"]);
        }
    }

    /// <summary>Completes when no run is in progress (tests use it to let started runs finish).</summary>
    internal async Task WhenIdleAsync()
    {
        while (true)
        {
            Task[] running;
            lock (_gate) running = [.. _running];
            if (running.Length == 0) return;
            await Task.WhenAll(running).ConfigureAwait(false);
        }
    }

    private void OnTimer()
    {
        var logs = new List<string>();
        lock (_gate)
        {
            if (_disposed) return;
            var now = _time.GetUtcNow();
            foreach (var job in _jobs.Values)
            {
                if (job.NextRun is not { } due || due > now) continue;
                if (job.Running is null) StartRun(job, now);
                else Skip(job, logs);

                ReadSchedule(job, logs);
                // Keep the cadence of the schedule (next after the due time), but if the timer woke up
                // very late, do not replay every missed run: continue from now.
                var next = job.Schedule.NextAfter(due, _zone);
                if (next <= now) next = job.Schedule.NextAfter(now, _zone);
                job.NextRun = next;
            }
            Arm(now);
        }
        Emit(logs);
    }

    /// <summary>Starts a run on the thread pool, so a job's synchronous work cannot delay the timer or other jobs.</summary>
    private Task StartRun(Job job, DateTimeOffset now)
    {
        job.LastStart = now;
        job.Runs++;
        if (Level >= 2) Emit([$"scheduler: job '{job.Name}' started"]);
        var task = Task.Run(() => RunAsync(job, now));
        job.Running = task;
        _running.Add(task);
        return task;
    }

    private async Task RunAsync(Job job, DateTimeOffset start)
    {
        string result;
        Exception? failure = null;
        try
        {
            await job.Work(_stopping.Token).ConfigureAwait(false);
            result = "ok";
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            result = "cancelled: scheduler stopping";
        }
        catch (Exception ex)
        {
            failure = ex;
            result = "failed: " + ex.Message;
        }

        var logs = new List<string>();
        lock (_gate)
        {
            var end = _time.GetUtcNow();
            job.LastDuration = end > start ? end - start : TimeSpan.Zero;
            job.LastResult = result;
            if (failure is not null)
            {
                job.Failures++;
                logs.Add($"scheduler: job '{job.Name}' failed: {failure.GetType().Name}: {failure.Message}");
            }
            else if (Level >= 2)
            {
                logs.Add($"scheduler: job '{job.Name}' finished after {(job.LastDuration ?? TimeSpan.Zero).TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s: {result}");
            }
            _running.Remove(job.Running!);
            job.Running = null;
            // A config reload during the run takes effect now, without waiting for Refresh().
            if (!_disposed && _jobs.TryGetValue(job.Name, out var current) && current == job && ReadSchedule(job, logs))
            {
                job.NextRun = job.Schedule.NextAfter(end, _zone);
                Arm(end);
            }
        }
        Emit(logs);
    }

    private void Skip(Job job, List<string> logs)
    {
        job.Skips++;
        job.LastResult = SkippedResult;
        logs.Add($"scheduler: job '{job.Name}' is due but still running; this run is skipped");
    }

    /// <summary>Re-reads the schedule and decides the next run.</summary>
    private void UpdateSchedule(Job job, DateTimeOffset now, List<string> logs, bool force = false)
    {
        var changed = ReadSchedule(job, logs);
        // Cron times do not depend on when they are computed, so recomputing is always safe; an
        // unchanged interval keeps its pending next run (recomputing would push it back each time).
        if (force || changed || job.Schedule.Kind == ScheduleKind.Cron || job.NextRun is null)
            job.NextRun = job.Schedule.NextAfter(now, _zone);
    }

    /// <summary>Calls the job's schedule source; returns whether the schedule changed. A throwing source keeps the old schedule.</summary>
    private static bool ReadSchedule(Job job, List<string> logs)
    {
        Schedule fresh;
        try
        {
            fresh = job.ScheduleSource() ?? Schedule.Never;
        }
        catch (Exception ex)
        {
            logs.Add($"scheduler: cannot read the schedule of job '{job.Name}', keeping '{job.Schedule}': {ex.Message}");
            return false;
        }
        var changed = fresh.ToString() != job.Schedule.ToString();
        if (changed && job.ScheduleRead) logs.Add($"scheduler: job '{job.Name}' schedule is now '{fresh}'");
        job.Schedule = fresh;
        job.ScheduleRead = true;
        return changed;
    }

    /// <summary>Points the one timer at the earliest next run (or disarms it).</summary>
    private void Arm(DateTimeOffset now)
    {
        if (_timer is null || _disposed) return;
        DateTimeOffset? earliest = null;
        foreach (var job in _jobs.Values)
        {
            if (job.NextRun is { } n && (earliest is null || n < earliest)) earliest = n;
        }
        if (earliest is not { } due)
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var wait = due - now;
        if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
        if (wait > MaxWait) wait = MaxWait;
        _timer.Change(wait, Timeout.InfiniteTimeSpan);
    }

    private void Emit(List<string> lines)
    {
        if (_log is null) return;
        int level = Level;
        foreach (var line in lines)
        {
            // ScheduleLog nolog: failures are still written; a job that fails unseen is worse than a noisy log.
            if (level <= 0 && !line.Contains("' failed: ", StringComparison.Ordinal)) continue;
            try
            {
                _log(line);
            }
            catch (Exception)
            {
                // A broken log sink must not take the scheduler down with it.
            }
        }
    }

    private sealed class Job(string name, Func<Schedule> scheduleSource, Func<CancellationToken, Task> work)
    {
        public string Name { get; } = name;
        public string? Description { get; set; }
        public Func<Schedule> ScheduleSource { get; set; } = scheduleSource;
        public Func<CancellationToken, Task> Work { get; set; } = work;
        public Schedule Schedule { get; set; } = Schedule.Never;
        public bool ScheduleRead { get; set; }
        public DateTimeOffset? NextRun { get; set; }
        public Task? Running { get; set; }
        public DateTimeOffset? LastStart { get; set; }
        public TimeSpan? LastDuration { get; set; }
        public string? LastResult { get; set; }
        public long Runs { get; set; }
        public long Failures { get; set; }
        public long Skips { get; set; }

        public JobStatus Status() =>
            new(Name, Description, Schedule.ToString(), LastStart, LastDuration, LastResult, NextRun, Runs, Failures)
            {
                Skips = Skips,
                IsRunning = Running is not null,
            };
    }
}

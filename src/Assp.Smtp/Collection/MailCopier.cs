using System.Threading.Channels;
using Assp.Config;

namespace Assp.Smtp.Collection;

/// <summary>
/// Sends spam and ham copies (sendAllSpam, ccSpamInDomain, sendHamInbound, sendHamOutbound) over their own SMTP
/// connection from one background loop, so a slow or dead copy destination never holds up a session. The queue is
/// bounded: past it a copy is dropped with a maillog warning.
/// </summary>
public sealed class MailCopier : IAsyncDisposable
{
    private readonly Channel<Job> _queue;
    private readonly Task _sender;
    private readonly Action<string?, string> _log;
    private readonly Func<ConfigSnapshot, string, IReadOnlyList<string>, byte[], CancellationToken, string?, Task<string?>> _send;
    private readonly CancellationTokenSource _stop = new();

    /// <param name="log">Writes a maillog line (message id, text).</param>
    /// <param name="send">Delivers a message (defaults to <see cref="ReportMailer"/>); returns null or the failure.</param>
    public MailCopier(Action<string?, string>? log, int capacity = 256,
        Func<ConfigSnapshot, string, IReadOnlyList<string>, byte[], CancellationToken, string?, Task<string?>>? send = null)
    {
        _log = log ?? ((_, _) => { });
        _send = send ?? ((cfg, from, to, msg, ct, dest) => ReportMailer.SendAsync(cfg, from, to, msg, ct, dest));
        _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(Math.Max(1, capacity)) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
        _sender = Task.Run(SendLoopAsync);
    }

    public long Sent => Interlocked.Read(ref _sent);
    private long _sent;
    public long Failed => Interlocked.Read(ref _failed);
    private long _failed;

    private sealed record Job(ConfigSnapshot Config, bool Spam, string From, IReadOnlyList<string> To, byte[] Message, string Destination, string? MessageId, bool Scan);

    /// <summary>Where spam copies go: sendAllDestination, else smtpDestination.</summary>
    public static string SpamDestination(ConfigSnapshot cfg) =>
        cfg["sendAllDestination"].Trim() is { Length: > 0 } d ? d : cfg["smtpDestination"].Trim();

    /// <summary>Where ham copies go: sendAllHamDestination, else the spam copies' destination.</summary>
    public static string HamDestination(ConfigSnapshot cfg) =>
        cfg["sendAllHamDestination"].Trim() is { Length: > 0 } d ? d : SpamDestination(cfg);

    /// <summary>
    /// Queues a copy; false (and a warning) when the queue is full. <paramref name="scan"/>: the mail is one the virus
    /// scanners look at (ASSP's haveToScan), so with ScanCC the copy is scanned before it is sent.
    /// </summary>
    public bool Enqueue(ConfigSnapshot cfg, bool spam, string from, IReadOnlyList<string> to, byte[] message, string? messageId, bool scan = false)
    {
        if (to.Count == 0) return false;
        var job = new Job(cfg, spam, from, to, message, spam ? SpamDestination(cfg) : HamDestination(cfg), messageId, scan);
        if (_queue.Writer.TryWrite(job)) return true;
        Interlocked.Increment(ref _failed);
        _log(messageId, $"warning: too many copies waiting - the copy to {string.Join(",", to)} was dropped");
        return false;
    }

    private async Task SendLoopAsync()
    {
        try
        {
            await foreach (var job in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                string? failure;
                try
                {
                    // ScanCC: an infected copy is not forwarded (the scanner writes the maillog line).
                    if (await Assp.Checks.Virus.StoredMailScanner.ScanCopyAsync(job.Config, job.Message, job.Scan, line => _log(job.MessageId, line), _stop.Token)
                        .ConfigureAwait(false) is not null) continue;
                    failure = await _send(job.Config, job.From, job.To, job.Message, _stop.Token, job.Destination).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failure = ex.Message;
                }
                var to = string.Join(",", job.To);
                if (failure is null)
                {
                    Interlocked.Increment(ref _sent);
                    if (job.Config.GetChoice("ConnectionLog") >= 1)
                        _log(job.MessageId, job.Spam ? $"info: forwarding spam message to {to}" : $"info: message copied to {to}");
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                    _log(job.MessageId, job.Spam ? $"error: couldn't send the spam copy to {to} - {failure}"
                        : $"error: couldn't send the ham copy to {to} - {failure}");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        // Copies still queued get a short time to go out; then the loop is stopped.
        if (await Task.WhenAny(_sender, Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false) != _sender)
            await _stop.CancelAsync().ConfigureAwait(false);
        try { await _sender.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}

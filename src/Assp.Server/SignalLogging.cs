using System.Globalization;
using Assp.Config;
using Assp.Config.Logging;

namespace Assp.Server;

/// <summary>
/// SignalLog: what the process does on a signal (SIGHUP reload, SIGTERM/SIGINT stop). nolog handles it without a word,
/// standard writes it to the maillog, verbose also appends it to debugSignal.txt in the base folder, as ASSP does.
/// </summary>
public static class SignalLogging
{
    public const string DebugFile = "debugSignal.txt";

    public static void Received(ConfigSnapshot cfg, MailLog log, string signal, string action)
    {
        int level = cfg.GetChoice("SignalLog");
        if (level <= 0) return;
        var text = $"info: signal {signal} received - {action}";
        log.Write(text);
        if (level < 2) return;
        try
        {
            File.AppendAllText(Path.Combine(cfg.BaseDirectory, DebugFile),
                $"{DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} pid {Environment.ProcessId}: {text}\n");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log.Write($"warning: SignalLog cannot write {DebugFile}: {ex.Message}");
        }
    }
}

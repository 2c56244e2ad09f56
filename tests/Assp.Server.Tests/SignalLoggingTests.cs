using Assp.Config;
using Assp.Config.Logging;
using Assp.Config.Registry;

namespace Assp.Server.Tests;

/// <summary>SignalLog: nolog says nothing, standard writes the maillog, verbose also debugSignal.txt.</summary>
public class SignalLoggingTests
{
    [Theory]
    [InlineData("0", false, false)]
    [InlineData("1", true, false)]
    [InlineData("2", true, true)]
    public async Task SignalLog_decides_where_a_signal_is_written(string level, bool inMaillog, bool inDebugFile)
    {
        var dir = Path.Combine(Path.GetTempPath(), "assp-signallog-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var cfg = new ConfigLoader(OptionRegistry.Default) { ExportGroups = false, AllowExec = false }
                .Load(new ConfigSource(dir, Overrides: [KeyValuePair.Create("SignalLog", level)]));
            var lines = new List<string>();
            await using (var log = new MailLog(() => cfg) { LineObserver = (_, m) => lines.Add(m) })
                SignalLogging.Received(cfg, log, "SIGHUP", "reloading the configuration");
            Assert.Equal(inMaillog, lines.Contains("info: signal SIGHUP received - reloading the configuration"));
            var debugFile = Path.Combine(dir, SignalLogging.DebugFile);
            Assert.Equal(inDebugFile, File.Exists(debugFile));
            if (inDebugFile) Assert.Contains("signal SIGHUP received", await File.ReadAllTextAsync(debugFile));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

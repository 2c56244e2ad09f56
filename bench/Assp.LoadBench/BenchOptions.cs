using System.Globalization;
using System.Net;

namespace Assp.LoadBench;

internal enum BenchMode { Compare, Direct, Proxy, Idle, Soak }

internal enum SinkKind { SmtpSink, Internal, Postfix }

/// <summary>Command-line options of the load benchmark (see <see cref="Usage"/>).</summary>
internal sealed class BenchOptions
{
    public BenchMode Mode { get; set; } = BenchMode.Compare;
    public string CorpusDir { get; set; } = "/tmp/sa-eml";
    public int CorpusLimit { get; set; }
    public int Connections { get; set; } = 16;
    public int MessagesPerConnection { get; set; } = 50;
    public int WarmupPerConnection { get; set; } = 5;
    public double DurationLimitSeconds { get; set; } = 120;
    public double ReplyTimeoutSeconds { get; set; } = 30;
    public SinkKind Sink { get; set; } = SinkKind.SmtpSink;
    public string SmtpSinkPath { get; set; } = "/usr/sbin/smtp-sink";
    public int SinkPort { get; set; }
    public IPEndPoint? ProxyEndpoint { get; set; }
    public string? ProxyCommand { get; set; }
    public int? ProxyPid { get; set; }
    public string? ProxyDll { get; set; }
    public bool RebuildProxy { get; set; }
    public double ProxyStartTimeoutSeconds { get; set; } = 30;
    public bool ShowProxyOutput { get; set; }
    public List<KeyValuePair<string, string>> ProxyEnvironment { get; } = [];
    public List<KeyValuePair<string, string>> ProxySettings { get; } = [];
    public int Idle { get; set; } = 2000;
    public int Rounds { get; set; } = 3;
    public int SoakMessages { get; set; } = 50_000;
    public int Slowloris { get; set; } = 100;
    public double SlowlorisIntervalSeconds { get; set; } = 5;
    public double SettleSeconds { get; set; } = 25;
    public double MinHoldSeconds { get; set; }
    public int GeneratedMessages { get; set; }

    /// <summary>The options given on the command line (mode-dependent defaults apply to the others).</summary>
    public HashSet<string> Given { get; } = new(StringComparer.Ordinal);
    public double IdleHoldSeconds { get; set; } = 3;
    public string? JsonPath { get; set; }
    public bool SelfTest { get; set; }
    public bool Help { get; set; }
    public string RcptDomain { get; set; } = "example.com";
    public string Helo { get; set; } = "loadbench.example.net";

    public const string Usage = """
        ASSP for .NET SMTP load benchmark: what does the proxy cost, against a sink that discards everything?

        usage: dotnet run -c Release --project bench/Assp.LoadBench -- [options]

        modes
          --mode compare            (default) direct run, then proxy run, then the ratios
          --mode direct             client -> sink
          --mode proxy              client -> proxy -> sink
          --mode idle               hold --idle N connections open on the proxy and sample its RSS
          --mode soak               against one proxy: --rounds R of --messages M over --connections C while
                                    --idle I silent and --slowloris S dribbling connections are held open;
                                    the proxy's RSS, descriptors and threads sampled every second; verdict
          --self-test               2 connections x 5 generated messages against the internal sink; exit 0 when OK

        load
          --connections N           concurrent SMTP sessions (default 16)
          --messages-per-connection M
                                    messages per session: EHLO once, MAIL/RCPT/DATA per message, QUIT (default 50)
          --warmup M                unmeasured messages per connection before each measured run (default 5, 0 = none)
          --duration-limit S        stop each run after S seconds, whatever is left (default 120)
          --reply-timeout S         give up on a session when a command and its reply take longer (default 30)
          --corpus DIR              exported SpamAssassin corpus (default /tmp/sa-eml; exported with
                                    ../shared/corpus/extract.sh when missing)
          --corpus-limit N          use only the first N corpus messages (default all)
          --rcpt-domain D           recipients are user<N>@D (default example.com, the proxy's localDomains)
          --helo NAME               EHLO name (default loadbench.example.net)
          --generated N             N generated messages instead of the corpus (no export needed; for CI)

        sink
          --sink smtp-sink|internal|postfix
                                    Postfix smtp-sink (default; the internal sink when the binary is missing),
                                    the in-process C# sink, or a private Postfix instance that queues every
                                    message and discards it (needs root; the deployment ASSP is made for)
          --smtp-sink-path PATH     default /usr/sbin/smtp-sink
          --sink-port P             listen on 127.0.0.1:P (default: a free port); lets an already running proxy
                                    (--proxy-endpoint) be configured with smtpDestination=127.0.0.1:P beforehand

        proxy (modes proxy, compare, idle)
          --proxy-endpoint H:P      use an already running proxy on 127.0.0.1:P instead of starting one
          --proxy-pid PID           its process id, for RSS/CPU figures (found from the listening socket otherwise)
          --proxy-command CMD       start CMD (via /bin/sh) instead of assp; placeholders {listen} {listenPort}
                                    {sink} {sinkPort} {base}
          --proxy-dll PATH          assp.dll to run (default src/Assp.Server/bin/Release/net10.0/assp.dll,
                                    built with `dotnet build src/Assp.Server -c Release` when missing)
          --rebuild-proxy           build assp even when the dll exists
          --proxy-start-timeout S   wait this long for the proxy's 220 (default 30)
          --show-proxy-output       echo the proxy's console output
          --proxy-env NAME=VALUE    environment variable for the proxy started here (repeatable), e.g.
                                    DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0
          --proxy-set NAME=VALUE    assp option for the proxy started here (repeatable, after the bench's own),
                                    e.g. smtpIdleTimeout=30

        idle
          --idle N                  connections to hold open (default 2000)
          --idle-hold S             how long to hold them while sampling RSS (default 3)

        soak (defaults there: --connections 200, --idle 1000, --duration-limit 3600 per round, no warm-up)
          --rounds R                rounds against the same proxy process (default 3)
          --messages M              messages per round, spread over the connections (default 50000)
          --slowloris S             connections that send one byte per interval and never finish (default 100):
                                    half dribble an endless EHLO line, half an endless message after DATA
          --slowloris-interval S    seconds between their bytes (default 5)
          --min-hold S              hold the idle and slowloris connections at least S seconds per round, so
                                    that the proxy's own timeouts can show (default 0: as long as the load runs)
          --settle S                pause after closing everything, before the settled sample (default 25: the
                                    thread pool retires idle workers after 20 s)

        output
          --json FILE               also write the figures as JSON

        exit codes: 0 done, 1 failed messages/connections or self-test failure, 2 bad options,
                    3 the sink or proxy did not come up (or could not be built), or no corpus
        """;

    /// <summary>Parses <paramref name="args"/>; returns null and sets <paramref name="error"/> on a bad command line.</summary>
    public static BenchOptions? Parse(string[] args, out string? error)
    {
        var o = new BenchOptions();
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? inline = null;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 2)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            string Value()
            {
                if (inline is not null) return inline;
                if (i + 1 >= args.Length) throw new FormatException($"{arg} needs a value");
                return args[++i];
            }

            try
            {
                switch (arg)
                {
                    case "-h" or "--help": o.Help = true; break;
                    case "--self-test": o.SelfTest = true; break;
                    case "--mode":
                        o.Mode = Value() switch
                        {
                            "compare" => BenchMode.Compare,
                            "direct" => BenchMode.Direct,
                            "proxy" => BenchMode.Proxy,
                            "idle" => BenchMode.Idle,
                            "soak" => BenchMode.Soak,
                            var v => throw new FormatException($"--mode {v}: expected compare, direct, proxy, idle or soak"),
                        };
                        break;
                    case "--corpus": o.CorpusDir = Value(); break;
                    case "--corpus-limit": o.CorpusLimit = Int(arg, Value(), 0); break;
                    case "--connections": o.Connections = Int(arg, Value(), 1); break;
                    case "--messages-per-connection": o.MessagesPerConnection = Int(arg, Value(), 1); break;
                    case "--warmup": o.WarmupPerConnection = Int(arg, Value(), 0); break;
                    case "--duration-limit": o.DurationLimitSeconds = Seconds(arg, Value()); break;
                    case "--reply-timeout": o.ReplyTimeoutSeconds = Seconds(arg, Value()); break;
                    case "--rcpt-domain": o.RcptDomain = Value(); break;
                    case "--helo": o.Helo = Value(); break;
                    case "--sink":
                        o.Sink = Value() switch
                        {
                            "smtp-sink" => SinkKind.SmtpSink,
                            "internal" => SinkKind.Internal,
                            "postfix" => SinkKind.Postfix,
                            var v => throw new FormatException($"--sink {v}: expected smtp-sink, internal or postfix"),
                        };
                        break;
                    case "--smtp-sink-path": o.SmtpSinkPath = Value(); break;
                    case "--sink-port": o.SinkPort = Int(arg, Value(), 1); break;
                    case "--proxy-endpoint": o.ProxyEndpoint = Loopback(arg, Value()); break;
                    case "--proxy-pid": o.ProxyPid = Int(arg, Value(), 1); break;
                    case "--proxy-command": o.ProxyCommand = Value(); break;
                    case "--proxy-dll": o.ProxyDll = Value(); break;
                    case "--rebuild-proxy": o.RebuildProxy = true; break;
                    case "--proxy-start-timeout": o.ProxyStartTimeoutSeconds = Seconds(arg, Value()); break;
                    case "--show-proxy-output": o.ShowProxyOutput = true; break;
                    case "--proxy-env":
                        {
                            string v = Value();
                            int eqSign = v.IndexOf('=', StringComparison.Ordinal);
                            if (eqSign <= 0) throw new FormatException($"--proxy-env {v}: expected NAME=VALUE");
                            o.ProxyEnvironment.Add(new(v[..eqSign], v[(eqSign + 1)..]));
                            break;
                        }
                    case "--proxy-set":
                        {
                            string v = Value();
                            int eqSign = v.IndexOf('=', StringComparison.Ordinal);
                            if (eqSign <= 0) throw new FormatException($"--proxy-set {v}: expected NAME=VALUE");
                            o.ProxySettings.Add(new(v[..eqSign], v[(eqSign + 1)..]));
                            break;
                        }
                    case "--idle": o.Idle = Int(arg, Value(), 0); break;
                    case "--rounds": o.Rounds = Int(arg, Value(), 1); break;
                    case "--messages": o.SoakMessages = Int(arg, Value(), 1); break;
                    case "--slowloris": o.Slowloris = Int(arg, Value(), 0); break;
                    case "--slowloris-interval": o.SlowlorisIntervalSeconds = Seconds(arg, Value()); break;
                    case "--min-hold": o.MinHoldSeconds = Seconds(arg, Value()); break;
                    case "--settle": o.SettleSeconds = Seconds(arg, Value()); break;
                    case "--generated": o.GeneratedMessages = Int(arg, Value(), 1); break;
                    case "--idle-hold": o.IdleHoldSeconds = Seconds(arg, Value()); break;
                    case "--json": o.JsonPath = Value(); break;
                    default: throw new FormatException($"unknown option '{args[i]}'");
                }
                o.Given.Add(arg);
            }
            catch (FormatException ex)
            {
                error = ex.Message;
                return null;
            }
        }
        if (o.Mode == BenchMode.Soak)
        {
            if (!o.Given.Contains("--connections")) o.Connections = 200;
            if (!o.Given.Contains("--idle")) o.Idle = 1000;
            if (!o.Given.Contains("--duration-limit")) o.DurationLimitSeconds = 3600;
            if (!o.Given.Contains("--warmup")) o.WarmupPerConnection = 0;
            if (o.SoakMessages < o.Connections)
            {
                error = $"--messages {o.SoakMessages}: at least one per connection ({o.Connections})";
                return null;
            }
        }
        if (o.ProxyEndpoint is not null && o.ProxyCommand is not null)
        {
            error = "--proxy-endpoint and --proxy-command exclude each other";
            return null;
        }
        return o;
    }

    private static int Int(string name, string value, int min)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < min)
            throw new FormatException($"{name} {value}: expected a whole number >= {min}");
        return n;
    }

    private static double Seconds(string name, string value)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) || !(s > 0) || s > 86_400)
            throw new FormatException($"{name} {value}: expected seconds > 0");
        return s;
    }

    /// <summary>host:port, where host must be a loopback address: the benchmark never sends mail anywhere else.</summary>
    internal static IPEndPoint Loopback(string name, string value)
    {
        if (!IPEndPoint.TryParse(value, out var ep) || ep.Port == 0)
            throw new FormatException($"{name} {value}: expected 127.0.0.1:PORT");
        if (!IPAddress.IsLoopback(ep.Address))
            throw new FormatException($"{name} {value}: only loopback addresses (127.0.0.1) are allowed");
        return ep;
    }
}

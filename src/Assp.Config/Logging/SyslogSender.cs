using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Assp.Config.Logging;

/// <summary>
/// sysLog: every maillog line also goes to a syslog daemon, one RFC 3164 datagram per line
/// ("&lt;PRI&gt;Mmm dd hh:mm:ss host assp[pid]: text"). With sysLogIp set it goes over UDP to sysLogIp:sysLogPort
/// (514 when empty); without it to the local daemon's socket /dev/log, as ASSP does with Sys::Syslog. The facility is
/// SysLogFac; the severity is err for "error" lines, warning for "warning" lines and info for the rest.
/// </summary>
public sealed class SyslogSender : IDisposable
{
    private static readonly string[] s_facilities =
    [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
    ];

    private readonly Socket _socket;
    private readonly EndPoint _target;
    private readonly int _facility;
    private readonly string _host;
    private readonly string _tag;

    /// <summary>What the sender was built from, so a reload with the same settings keeps it.</summary>
    public string Settings { get; }

    private SyslogSender(Socket socket, EndPoint target, int facility, string settings)
    {
        _socket = socket;
        _target = target;
        _facility = facility;
        Settings = settings;
        _host = Dns.GetHostName().Split('.')[0];
        _tag = $"assp[{Environment.ProcessId}]";
    }

    /// <summary>The facility number of a SysLogFac name (kern … ftp, local0 … local7), or null for an unknown name.</summary>
    public static int? Facility(string name)
    {
        name = name.Trim().ToLowerInvariant();
        if (name.StartsWith("log_", StringComparison.Ordinal)) name = name[4..];
        int index = Array.IndexOf(s_facilities, name);
        if (index >= 0) return index;
        if (name.Length == 6 && name.StartsWith("local", StringComparison.Ordinal) && name[5] is >= '0' and <= '7') return 16 + (name[5] - '0');
        return null;
    }

    /// <summary>The settings key of a snapshot: empty when sysLog is off.</summary>
    public static string SettingsOf(ConfigSnapshot cfg) =>
        cfg.GetBool("sysLog") ? $"{cfg["sysLogIp"].Trim()}|{cfg["sysLogPort"].Trim()}|{cfg["SysLogFac"].Trim()}" : "";

    /// <summary>
    /// Opens the sender for a snapshot with sysLog on. Throws <see cref="InvalidOperationException"/> with the option and
    /// value named when the settings cannot be used (unknown facility, host that does not resolve, no local syslog).
    /// </summary>
    public static SyslogSender Open(ConfigSnapshot cfg)
    {
        var settings = SettingsOf(cfg);
        var facilityName = cfg["SysLogFac"].Trim();
        var facility = Facility(facilityName.Length == 0 ? "mail" : facilityName)
            ?? throw new InvalidOperationException($"SysLogFac '{facilityName}' is not a syslog facility (kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0-local7)");
        var host = cfg["sysLogIp"].Trim().Trim('[', ']');
        if (host.Length == 0)
        {
            const string local = "/dev/log";
            if (!File.Exists(local) && !Directory.Exists(Path.GetDirectoryName(local)))
                throw new InvalidOperationException("sysLogIp is empty and there is no local syslog socket /dev/log");
            var unix = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            return new SyslogSender(unix, new UnixDomainSocketEndPoint(local), facility, settings);
        }
        var port = cfg.GetInt("sysLogPort", 514);
        if (port is <= 0 or > 65535) port = 514;
        IPAddress address;
        if (!IPAddress.TryParse(host, out address!))
        {
            try
            {
                address = Dns.GetHostAddresses(host).FirstOrDefault()
                    ?? throw new InvalidOperationException($"sysLogIp '{host}' has no address");
            }
            catch (SocketException ex)
            {
                throw new InvalidOperationException($"sysLogIp '{host}' cannot be resolved: {ex.Message}");
            }
        }
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        return new SyslogSender(socket, new IPEndPoint(address, port), facility, settings);
    }

    /// <summary>The syslog severity of a maillog message: 3 err, 4 warning, 6 info.</summary>
    public static int Severity(string message)
    {
        var text = message.TrimStart();
        if (text.StartsWith("error", StringComparison.OrdinalIgnoreCase)) return 3;
        if (text.StartsWith("warning", StringComparison.OrdinalIgnoreCase)) return 4;
        return 6;
    }

    /// <summary>One RFC 3164 packet; the message's line breaks become spaces (a datagram is one record).</summary>
    public string Format(DateTime localTime, string message)
    {
        int pri = _facility * 8 + Severity(message);
        var stamp = localTime.ToString("MMM", CultureInfo.InvariantCulture) + " "
            + localTime.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2) + " "
            + localTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        var text = message.Replace("\r", "").Replace('\n', ' ');
        return $"<{pri}>{stamp} {_host} {_tag}: {text}";
    }

    /// <summary>Sends one line; a daemon that is down or a full buffer loses the line, never the caller.</summary>
    public bool Send(DateTime localTime, string message)
    {
        var bytes = Encoding.UTF8.GetBytes(Format(localTime, message));
        // RFC 3164 allows 1024 bytes; longer records are cut rather than dropped by the daemon.
        int length = Math.Min(bytes.Length, 8192);
        try
        {
            _socket.SendTo(bytes.AsSpan(0, length), SocketFlags.None, _target);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();
}

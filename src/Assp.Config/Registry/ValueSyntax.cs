using System.Globalization;
using System.Net;

namespace Assp.Config.Registry;

/// <summary>Syntax checks for the value forms ASSP options use (ports, destinations, schedules, scores).</summary>
public static class ValueSyntax
{
    public static bool IsInteger(string s)
    {
        s = s.Trim();
        int i = s.Length > 0 && (s[0] == '-' || s[0] == '+') ? 1 : 0;
        if (i == s.Length) return false;
        for (; i < s.Length; i++) if (!char.IsAsciiDigit(s[i])) return false;
        return true;
    }

    public static bool IsDecimal(string s) =>
        decimal.TryParse(s.Trim(), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _);

    /// <summary>"n" or "n,m" (ASSP also accepts "n|m"), numbers may have a fraction and a sign.</summary>
    public static bool IsValence(string s)
    {
        var parts = s.Split(',', '|');
        if (parts.Length > 2) return false;
        return parts.All(p => IsDecimal(p));
    }

    public static bool IsSmtpReply(string s) =>
        s.Length >= 4 && s[0] is '2' or '4' or '5' && char.IsAsciiDigit(s[1]) && char.IsAsciiDigit(s[2]) && (s[3] == ' ' || s[3] == '-')
        || s.Length == 3 && s[0] is '2' or '4' or '5' && char.IsAsciiDigit(s[1]) && char.IsAsciiDigit(s[2]);

    public static bool IsPort(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536;

    /// <summary>Splits "[SSL:]port", "[SSL:]ip:port", "[SSL:][v6]:port" into its parts; null when malformed.</summary>
    public static (bool Ssl, string? Host, int Port)? ParseEndpoint(string entry, string[] prefixes)
    {
        entry = entry.Trim();
        bool ssl = false;
        foreach (var prefix in prefixes)
        {
            if (entry.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                ssl |= prefix.Equals("SSL:", StringComparison.OrdinalIgnoreCase);
                entry = entry[prefix.Length..];
            }
        }
        if (entry.Length == 0) return null;
        if (IsPort(entry)) return (ssl, null, int.Parse(entry, CultureInfo.InvariantCulture));
        if (entry[0] == '[')
        {
            int close = entry.IndexOf(']');
            if (close < 0 || close + 2 > entry.Length || entry[close + 1] != ':') return null;
            var host6 = entry[1..close];
            var port6 = entry[(close + 2)..];
            if (!IPAddress.TryParse(host6, out _) || !IsPort(port6)) return null;
            return (ssl, host6, int.Parse(port6, CultureInfo.InvariantCulture));
        }
        int colon = entry.LastIndexOf(':');
        if (colon <= 0) return IsHostName(entry) ? (ssl, entry, 0) : null;
        var host = entry[..colon];
        var port = entry[(colon + 1)..];
        if (!IsPort(port) || !(IsHostName(host) || IPAddress.TryParse(host, out _))) return null;
        return (ssl, host, int.Parse(port, CultureInfo.InvariantCulture));
    }

    public static bool IsHostName(string s)
    {
        if (s.Length is 0 or > 253) return false;
        foreach (var label in s.TrimEnd('.').Split('.'))
        {
            if (label.Length is 0 or > 63) return false;
            foreach (var c in label) if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_')) return false;
        }
        return true;
    }

    public static string? ListenError(string value)
    {
        foreach (var entry in value.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var ep = ParseEndpoint(entry, ["SSL:"]);
            if (ep is null || ep.Value.Port == 0)
                return $"'{entry}' is not a listener: use port, ip:port, [ipv6]:port, optionally with SSL: in front";
        }
        return null;
    }

    public static string? DestinationError(string value)
    {
        foreach (var entry in value.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (ParseEndpoint(entry, ["INBOUND:", "SSL:"]) is null)
                return $"'{entry}' is not a destination: use host:port, port, [ipv6]:port, optionally with INBOUND: or SSL: in front";
        }
        return null;
    }

    /// <summary>A schedule is a number (an interval), "noschedule", or crontab entries of five fields separated by '|'.</summary>
    public static string? ScheduleError(string value)
    {
        var v = value.Trim();
        if (IsDecimal(v) || v.Equals("noschedule", StringComparison.OrdinalIgnoreCase)) return null;
        foreach (var entry in v.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = entry.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length is < 5 or > 6) return $"'{entry}' is neither a number nor a crontab entry of five fields";
            foreach (var f in fields)
            {
                foreach (var c in f)
                {
                    if (!(char.IsAsciiLetterOrDigit(c) || c is '*' or ',' or '-' or '/'))
                        return $"'{entry}' has the character '{c}', which a crontab field cannot hold";
                }
            }
        }
        return null;
    }
}

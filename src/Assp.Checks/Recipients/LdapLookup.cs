using System.DirectoryServices.Protocols;
using System.Net;
using System.Text;
using Assp.Config;

namespace Assp.Checks.Recipients;

/// <summary>What a directory or MTA said about an address.</summary>
public enum LookupOutcome { Found, NotFound, TempFail, Error }

public readonly record struct LookupResult(LookupOutcome Outcome, string Detail)
{
    public static LookupResult Found(string detail) => new(LookupOutcome.Found, detail);
    public static LookupResult NotFound(string detail) => new(LookupOutcome.NotFound, detail);
    public static LookupResult Error(string detail) => new(LookupOutcome.Error, detail);
}

/// <summary>
/// DoLDAP's query: binds to the first reachable LDAPHost (pipe-separated, "host[:port]", later ones are the
/// failover), with LDAPLogin/LDAPPassword (anonymous when no login), LDAPVersion and LDAPtimeout, over plain
/// LDAP, ldaps (DoLDAPSSL 1) or StartTLS (DoLDAPSSL 2); then searches LDAPRoot and below with LDAPFilter, where
/// EMAILADDRESS, USERNAME and DOMAIN stand for the recipient's parts (escaped for the filter). Any entry means the
/// address exists.
/// </summary>
public sealed class LdapLookup
{
    public async Task<LookupResult> FindAddressAsync(ConfigSnapshot cfg, string address, CancellationToken ct)
    {
        int at = address.LastIndexOf('@');
        var user = at > 0 ? address[..at] : address;
        var domain = at >= 0 ? address[(at + 1)..] : "";
        var root = cfg["LDAPRoot"].Trim().Replace("DOMAIN", domain, StringComparison.Ordinal);
        var filterTemplate = cfg["LDAPFilter"].Trim();
        if (root.Length == 0 || filterTemplate.Length == 0) return LookupResult.Error("LDAPRoot or LDAPFilter is empty");
        var filter = filterTemplate.Replace("EMAILADDRESS", Escape(address), StringComparison.Ordinal)
            .Replace("USERNAME", Escape(user), StringComparison.Ordinal)
            .Replace("DOMAIN", Escape(domain), StringComparison.Ordinal);
        return await SearchAsync(cfg, root, filter, ct).ConfigureAwait(false);
    }

    /// <summary>Runs one subtree search on the first LDAPHost that answers; Found when it returns any entry.</summary>
    public async Task<LookupResult> SearchAsync(ConfigSnapshot cfg, string root, string filter, CancellationToken ct)
    {
        var hosts = cfg["LDAPHost"].Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (hosts.Length == 0) return LookupResult.Error("LDAPHost is empty");
        var timeout = TimeSpan.FromSeconds(Math.Clamp(cfg.GetInt("LDAPtimeout", 15), 1, 300));
        string lastError = "";
        foreach (var host in hosts)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                return await Task.Run(() => SearchOn(cfg, host, root, filter, timeout), ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is LdapException or DirectoryOperationException or InvalidOperationException or TimeoutException
                or ArgumentException)
            {
                // Unreachable, refused the bind or the search: the next host is the failover.
                lastError = $"{host}: {ex.Message}";
            }
            catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or PlatformNotSupportedException)
            {
                // No OpenLDAP client library on this machine (libldap): no host can be asked.
                return LookupResult.Error($"LDAP is not available here: {ex.Message}");
            }
        }
        return LookupResult.Error(lastError);
    }

    private static LookupResult SearchOn(ConfigSnapshot cfg, string host, string root, string filter, TimeSpan timeout)
    {
        int ssl = cfg.GetChoice("DoLDAPSSL");
        var (name, port) = SplitHost(host, ssl == 1 ? 636 : 389);
        var login = cfg["LDAPLogin"];
        using var connection = new LdapConnection(new LdapDirectoryIdentifier(name, port, fullyQualifiedDnsHostName: false, connectionless: false))
        {
            Timeout = timeout,
            AuthType = login.Length > 0 ? AuthType.Basic : AuthType.Anonymous,
            Credential = login.Length > 0 ? new NetworkCredential(login, cfg["LDAPPassword"]) : null,
        };
        connection.SessionOptions.ProtocolVersion = Math.Clamp(cfg.GetInt("LDAPVersion", 3), 2, 3);
        connection.SessionOptions.ReferralChasing = ReferralChasingOptions.None;
        if (ssl == 1) connection.SessionOptions.SecureSocketLayer = true;
        if (ssl == 2) connection.SessionOptions.StartTransportLayerSecurity(null);
        connection.Bind();
        var request = new SearchRequest(root, filter, SearchScope.Subtree, "1.1") { SizeLimit = 1, TimeLimit = timeout };
        try
        {
            var response = (SearchResponse)connection.SendRequest(request, timeout);
            return response.Entries.Count > 0
                ? LookupResult.Found($"{host}: {response.Entries[0].DistinguishedName}")
                : LookupResult.NotFound($"{host}: no entry for {filter}");
        }
        catch (DirectoryOperationException ex) when (ex.Response?.ResultCode is ResultCode.NoSuchObject)
        {
            // The root (often built with DOMAIN) does not exist: nobody there.
            return LookupResult.NotFound($"{host}: {root} does not exist");
        }
        catch (DirectoryOperationException ex) when (ex.Response?.ResultCode is ResultCode.SizeLimitExceeded)
        {
            return LookupResult.Found($"{host}: several entries for {filter}");
        }
    }

    private static (string Host, int Port) SplitHost(string host, int defaultPort)
    {
        if (host.StartsWith('[') && host.IndexOf(']') is var close and > 0)
            return (host[1..close], host.Length > close + 2 && int.TryParse(host[(close + 2)..], out var p6) ? p6 : defaultPort);
        int colon = host.LastIndexOf(':');
        if (colon > 0 && host.IndexOf(':') == colon && int.TryParse(host[(colon + 1)..], out var port)) return (host[..colon], port);
        return (host, defaultPort);
    }

    /// <summary>RFC 4515: a value placed in a filter has *, (, ), \ and NUL escaped.</summary>
    internal static string Escape(string value)
    {
        var sb = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            _ = c switch
            {
                '*' => sb.Append(@"\2a"),
                '(' => sb.Append(@"\28"),
                ')' => sb.Append(@"\29"),
                '\\' => sb.Append(@"\5c"),
                '\0' => sb.Append(@"\00"),
                _ => sb.Append(c),
            };
        }
        return sb.ToString();
    }
}

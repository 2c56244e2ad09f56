using System.Text;
using Assp.Auth.Arc;
using Assp.Auth.Dkim;
using Assp.Config;

namespace Assp.Smtp.Session;

/// <summary>
/// genDKIM and genARC: the signatures put on the message as it leaves for the MTA, computed over the final bytes
/// (our X-Assp- headers and subject tag included); a selector in Mode=Domainkey makes a DomainKey-Signature. genDKIM signs relayed mail (relaying clients, authenticated
/// sessions, the relay port) for the From domain (else the envelope sender's) when DKIMgenConfig has a selector for
/// it; genARC seals every message with the setup for ARCSigningHost (or myName, or a parent domain of it).
/// </summary>
internal static class OutboundSigning
{
    private sealed class Loaded(DkimGenConfig config)
    {
        public DkimGenConfig Config { get; } = config;
        public int ProblemsLogged;
    }

    /// <summary>True when this message may get a signature (so the final bytes have to be built first).</summary>
    public static bool Wanted(ConfigSnapshot cfg, SessionContext ctx) =>
        (cfg.GetBool("genDKIM") && ctx.RelayAllowed) || cfg.GetBool("genARC");

    private static DkimGenConfig Config(ConfigSnapshot cfg, Action<string> log)
    {
        var loaded = cfg.Derived("OutboundSigning.DkimGenConfig", c => new Loaded(DkimGenConfig.Parse(
            c.GetListEntries("DKIMgenConfig").Select(e => (e.Text, e.Location)),
            path => File.ReadAllText(Path.IsPathRooted(path) ? path : Path.Combine(c.BaseDirectory, path)))));
        if (loaded.Config.Problems.Count > 0 && cfg.GetChoice("DKIMlogging") >= 1 && Interlocked.Exchange(ref loaded.ProblemsLogged, 1) == 0)
            foreach (var p in loaded.Config.Problems) log($"error: DKIMgenConfig {p}");
        return loaded.Config;
    }

    private static string SignatureName(DkimGenSelector selector) => selector.DomainKeys ? "DomainKey-Signature" : "DKIM-Signature";

    /// <summary>The header fields to put on top of <paramref name="message"/> (final bytes, CRLF, not dot-stuffed), or null.</summary>
    public static string? Sign(ConfigSnapshot cfg, SessionContext ctx, ReadOnlyMemory<byte> message, Action<string> log)
    {
        var config = Config(cfg, log);
        var msg = DkimMessage.Parse(message);
        var sb = new StringBuilder();
        int logging = cfg.GetChoice("DKIMlogging");

        if (cfg.GetBool("genDKIM") && ctx.RelayAllowed && SigningDomain(msg, ctx.MailFrom) is { } domain && config.Pick(domain) is { } selector)
        {
            var header = selector.DomainKeys ? DomainKeysSigner.Sign(msg, selector.ToDomainKeysOptions()) : DkimSigner.Sign(msg, selector.ToOptions());
            sb.Append(header);
            if (logging >= 2) log($"info: successful added {SignatureName(selector)} (d={selector.Domain} s={selector.Selector})");
            if (logging >= 3) SelfCheck(header, message, selector, log);
        }

        if (cfg.GetBool("genARC"))
        {
            var host = cfg["ARCSigningHost"].Trim();
            if (host.Length == 0) host = cfg["myName"].Trim();
            var sealer = SealingSelector(config, host);
            var state = ctx.CheckState.Message;
            var chain = state.Arc ?? (msg.Headers.Any(h => h.Is("ARC-Seal")) ? null : ArcResult.NoChain);
            if (sealer is null)
            {
                if (logging >= 2) log($"info: no ARC signature - DKIMgenConfig has no setup for {host} or its parent domains");
            }
            else if (chain is null)
            {
                // The existing chain decides cv=; without DoARC it was not validated.
                if (logging >= 1) log("warning: no ARC signature - the message carries ARC sets that were not validated (DoARC is off)");
            }
            else
            {
                // The ARC set goes above a DKIM-Signature added here, so the seal's AMS covers the final header.
                var signed = sb.Length > 0 ? DkimMessage.Parse(Concat(sb.ToString(), message)) : msg;
                var set = ArcSigner.Sign(signed, chain, new ArcSigningOptions
                {
                    Domain = sealer.Domain,
                    Selector = sealer.Selector,
                    Key = sealer.Key,
                    Headers = sealer.Headers,
                    AuthenticationResults = AuthenticationResults(host, state),
                });
                if (set is not null)
                {
                    sb.Insert(0, string.Concat(set));
                    if (logging >= 2) log($"info: successful added ARC set i={chain.Instances + 1} (d={sealer.Domain} s={sealer.Selector})");
                }
            }
        }
        return sb.Length > 0 ? sb.ToString() : null;
    }

    /// <summary>
    /// genDKIM for a message kept on disk: <paramref name="message"/> holds the final bytes (CRLF, not dot-stuffed) and
    /// is read twice, the header into memory and the body through the streaming body hash, so the message is never in
    /// memory as a whole. Returns the DKIM-Signature field, or null. ARC sealing is left to messages held in memory.
    /// </summary>
    public static async Task<string?> SignStreamAsync(ConfigSnapshot cfg, SessionContext ctx, Stream message, Action<string> log, CancellationToken ct)
    {
        int logging = cfg.GetChoice("DKIMlogging");
        if (cfg.GetBool("genARC") && logging >= 2) log("info: no ARC signature - the message is kept on disk");
        if (!cfg.GetBool("genDKIM") || !ctx.RelayAllowed) return null;
        var config = Config(cfg, log);
        var header = await ReadHeaderAsync(message, ct).ConfigureAwait(false);
        if (header is null)
        {
            if (logging >= 1) log("warning: no DKIM signature - the header of the message on disk has no end within 1 MiB");
            return null;
        }
        var headers = DkimMessage.Parse(header);
        if (SigningDomain(headers, ctx.MailFrom) is not { } domain || config.Pick(domain) is not { } selector) return null;
        message.Position = header.Length;
        if (selector.DomainKeys)
        {
            var dk = await DomainKeysSigner.SignAsync(headers, message, selector.ToDomainKeysOptions(), ct).ConfigureAwait(false);
            if (logging >= 2) log($"info: successful added DomainKey-Signature (d={selector.Domain} s={selector.Selector}) to a message of {message.Length} bytes on disk");
            return dk;
        }
        var options = selector.ToOptions();
        var (bodyHash, _) = await DkimCanonicalizer.HashBodyAsync(message, options.BodyCanonicalization, DkimSigner.BodyHashAlgorithm(options), ct)
            .ConfigureAwait(false);
        var signature = DkimSigner.Sign(headers, bodyHash, options);
        if (logging >= 2) log($"info: successful added DKIM-Signature (d={selector.Domain} s={selector.Selector}) to a message of {message.Length} bytes on disk");
        return signature;
    }

    /// <summary>The header section with its empty line, read from the start of the stream; null when it is longer than 1 MiB.</summary>
    private static async Task<byte[]?> ReadHeaderAsync(Stream message, CancellationToken ct)
    {
        const int Limit = 1 << 20;
        message.Position = 0;
        var buffer = new byte[Math.Min(Limit, Math.Max(1, (int)Math.Min(message.Length, Limit)))];
        int have = 0;
        while (have < buffer.Length)
        {
            int read = await message.ReadAsync(buffer.AsMemory(have), ct).ConfigureAwait(false);
            if (read == 0) break;
            int from = Math.Max(0, have - 3);
            have += read;
            int end = buffer.AsSpan(from, have - from).IndexOf("\r\n\r\n"u8);
            if (end >= 0) return buffer[..(from + end + 4)];
        }
        // A message that is all header (no body) ends at the end of the stream.
        return have == message.Length ? buffer[..have] : null;
    }

    /// <summary>ASSP signs for the domain of the header From (the first address), else that of the envelope sender.</summary>
    internal static string? SigningDomain(DkimMessage msg, string? mailFrom)
    {
        var from = msg.Headers.FirstOrDefault(h => h.Is("From"))?.Value;
        if (from is not null)
        {
            var mailbox = Assp.Mime.AddressParser.ParseList(from).SelectMany(a => a.Mailboxes).FirstOrDefault();
            if (mailbox is { Domain.Length: > 0 } && !mailbox.IsDomainLiteral) return mailbox.AsciiDomain.ToLowerInvariant();
        }
        int at = mailFrom?.LastIndexOf('@') ?? -1;
        return at > 0 && at < mailFrom!.Length - 1 ? mailFrom[(at + 1)..].ToLowerInvariant() : null;
    }

    private static DkimGenSelector? SealingSelector(DkimGenConfig config, string host)
    {
        for (var name = host.ToLowerInvariant(); name.Contains('.'); name = name[(name.IndexOf('.') + 1)..])
            if (config.PickDkim(name) is { } s) return s;
        return null;
    }

    /// <summary>The results this hop saw, for the ARC-Authentication-Results: SPF, DKIM and ARC as far as they were checked.</summary>
    private static string AuthenticationResults(string host, Assp.Checks.Decision.MessageState st)
    {
        var parts = new List<string> { host };
        var spf = st.Headers.FirstOrDefault(h => h.StartsWith("Received-SPF:", StringComparison.OrdinalIgnoreCase));
        if (spf is not null && spf["Received-SPF:".Length..].Trim().Split(' ')[0] is { Length: > 0 } spfResult) parts.Add("spf=" + spfResult);
        if (st.Dkim is { } dkim)
            parts.Add("dkim=" + DkimResult.Name(dkim.Overall) + (dkim.PassingDomains.Count > 0 ? " header.d=" + dkim.PassingDomains[0] : ""));
        parts.Add("arc=" + (st.Arc?.Name ?? "none"));
        return string.Join("; ", parts);
    }

    private static byte[] Concat(string headers, ReadOnlyMemory<byte> message)
    {
        var bytes = new byte[Encoding.ASCII.GetByteCount(headers) + message.Length];
        int n = Encoding.ASCII.GetBytes(headers, bytes);
        message.Span.CopyTo(bytes.AsSpan(n));
        return bytes;
    }

    /// <summary>DKIMlogging diagnostic: the new signature is verified against the configured key right away.</summary>
    private static void SelfCheck(string header, ReadOnlyMemory<byte> message, DkimGenSelector selector, Action<string> log)
    {
        var dns = new SingleKeyDns(selector.Selector + "._domainkey." + selector.Domain, selector.Key.KeyRecord);
        var signed = DkimMessage.Parse(Concat(header, message));
        var result = (selector.DomainKeys ? new DomainKeysVerifier(dns).VerifyAsync(signed) : new DkimVerifier(dns).VerifyAsync(signed)).GetAwaiter().GetResult();
        log($"DKIM: self signature check: result: {result.Signatures[0].ResultName} {result.Signatures[0].Reason}");
    }

    private sealed class SingleKeyDns(string name, string record) : IDkimDns
    {
        public Task<Assp.Auth.Spf.SpfDnsAnswer<string>> GetTxtAsync(string query, CancellationToken cancellationToken) =>
            Task.FromResult(query.TrimEnd('.').Equals(name, StringComparison.OrdinalIgnoreCase)
                ? new Assp.Auth.Spf.SpfDnsAnswer<string>(Assp.Auth.Spf.SpfDnsStatus.Ok, [record])
                : Assp.Auth.Spf.SpfDnsAnswer<string>.Of(Assp.Auth.Spf.SpfDnsStatus.NxDomain));
    }
}

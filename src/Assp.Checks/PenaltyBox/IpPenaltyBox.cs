using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Assp.Checks.Decision;
using Assp.Config;
using Assp.Config.Lists;
using Assp.Storage;

namespace Assp.Checks.PenaltyBox;

/// <summary>
/// ASSP's PenaltyBox, the IP memory: the BlackBox (IP scores within PenaltyDuration, blocking at PenaltyLimit,
/// extreme at PenaltyExtreme), the WhiteBox (IPs that skip IP checks), the invalid-recipient trap counter,
/// DelayIP greystriking, cleanup and the extreme export for firewalls.
/// </summary>
/// <remarks>
/// Values are kept in ASSP's pbdb layouts (<see cref="BlackRecord"/>, <see cref="WhiteRecord"/>, <see cref="TrapRecord"/>),
/// so ASSP's files import and export unchanged. Session state (relayed, bounce, redlisted, ISP, noDelay,
/// whitelisted, noprocessing) is the caller's: every method here decides on the IP and the configuration only.
/// DoPenalty 0 turns the box off: nothing is scored, every lookup is empty and every check passes.
/// Thread-safe; use one instance per store, since the per-key locks that make adding atomic live here.
/// </remarks>
public sealed class IpPenaltyBox : IIpReputation
{
    public const string ExtremeSmtpReply = "554 5.7.1 Extreme Bad IP Profile";
    public const string DelayIpReply = "451 4.7.1 Please try again later";

    private const int StripeCount = 64;
    private const long EmbargoCacheSeconds = 24 * 3600;

    private readonly IStoreTable _black;
    private readonly IStoreTable _white;
    private readonly IStoreTable _traps;
    private readonly TimeProvider _clock;
    private readonly Lock[] _stripes = new Lock[StripeCount];
    private readonly Lock _exportGate = new();
    // DelayIP embargo starts per lookup key; in memory only, as ASSP's %DelayIPPB.
    private readonly ConcurrentDictionary<string, long> _embargo = new(StringComparer.Ordinal);

    public IpPenaltyBox(IStore store, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _clock = clock ?? store.Clock;
        _black = store.Table(StoreTables.PbBlack);
        _white = store.Table(StoreTables.PbWhite);
        _traps = store.Table(StoreTables.PbTrap);
        for (int i = 0; i < StripeCount; i++) _stripes[i] = new Lock();
    }

    private long Now => _clock.GetUtcNow().ToUnixTimeSeconds();

    private Lock Stripe(string key) => _stripes[(uint)StringComparer.Ordinal.GetHashCode(key) % StripeCount];

    // ---------------------------------------------------------------- BlackBox

    /// <summary>
    /// Adds an IP score (ASSP's pbBlackAdd, with pbAdd's IP-level filters: DoPenalty, private IPs, noPB, WhiteBox).
    /// A negative score is a bonus: it lowers the total and removes the record at zero; it never starts one.
    /// </summary>
    public BlackAddResult AddBlack(ConfigSnapshot cfg, IPAddress ip, double score, string reason)
    {
        var s = PenaltyBoxSettings.For(cfg);
        var key = s.LookupKey(ip);
        if (s.Mode == 0) return new(BlackAddOutcome.Disabled, 0, key);
        if (PbAddress.IsPrivate(ip)) return new(BlackAddOutcome.PrivateIp, 0, key);
        if (cfg.GetIpList("noPB").Contains(ip))
        {
            // ASSP drops both the address and its /24 here, whatever PenaltyUseNetblocks says.
            _black.Remove(PbAddress.IpKey(ip));
            _black.Remove(PbAddress.NetKey(ip));
            return new(BlackAddOutcome.NoPenaltyBox, 0, key);
        }
        if (IsWhite(cfg, ip)) return new(BlackAddOutcome.WhiteBox, 0, key);
        if (score == 0 || !double.IsFinite(score)) return new(BlackAddOutcome.NoScore, 0, key);

        var ipKey = PbAddress.IpKey(ip);
        long now = Now;
        lock (Stripe(key))
        {
            var old = ReadBlack(s, key, now);
            BlackRecord next;
            if (old is not null)
            {
                double total = old.Score + score;
                if (total <= 0)
                {
                    _black.Remove(ipKey);
                    _black.Remove(key);
                    return new(BlackAddOutcome.Cleared, 0, key);
                }
                // The reason shown is the last penalty, not the last bonus.
                next = old with { Updated = now, Count = old.Count + 1, Score = total, Ip = ipKey, Reason = score > 0 ? reason : old.Reason };
            }
            else
            {
                if (score < 0) return new(BlackAddOutcome.NoScore, 0, key);
                next = new BlackRecord(now, now, 1, score, ipKey, reason);
            }
            var value = next.Format();
            // With netblocks the network row is the one that counts; the address row is kept as ASSP keeps it.
            _black.Set(ipKey, value, now);
            if (key != ipKey) _black.Set(key, value, now);
            return new(old is null ? BlackAddOutcome.Created : BlackAddOutcome.Added, next.Score, key);
        }
    }

    /// <summary>The IP's BlackBox total, or null when it has no (unexpired) record.</summary>
    public double? BlackTotal(ConfigSnapshot cfg, IPAddress ip) => Lookup(cfg, ip).Black?.Score;

    /// <summary>Removes the IP's BlackBox rows (the address and, with netblocks, its network); ASSP's pbBlackDelete.</summary>
    public bool RemoveBlack(ConfigSnapshot cfg, IPAddress ip)
    {
        var key = PenaltyBoxSettings.For(cfg).LookupKey(ip);
        lock (Stripe(key))
        {
            bool removed = _black.Remove(PbAddress.IpKey(ip));
            return _black.Remove(key) | removed;
        }
    }

    // ---------------------------------------------------------------- WhiteBox

    /// <summary>
    /// Puts the IP into the WhiteBox and takes it out of the BlackBox (ASSP's pbWhiteAdd); false when noPBwhite
    /// keeps it out. The first-seen time of an existing entry is kept.
    /// </summary>
    public bool AddWhite(ConfigSnapshot cfg, IPAddress ip, string reason)
    {
        var s = PenaltyBoxSettings.For(cfg);
        var key = s.LookupKey(ip);
        var ipKey = PbAddress.IpKey(ip);
        if (cfg.GetIpList("noPBwhite").Contains(ip))
        {
            _white.Remove(ipKey);
            _white.Remove(key);
            return false;
        }
        long now = Now;
        lock (Stripe(key))
        {
            _black.Remove(ipKey);
            _black.Remove(key);
            long created = _white.TryGetValue(key, out var v) && WhiteRecord.Parse(v) is { Created: > 0 } old ? old.Created : now;
            var value = new WhiteRecord(created, now, WhiteRecord.LocalStatus, reason).Format();
            _white.Set(ipKey, value, now);
            if (key != ipKey) _white.Set(key, value, now);
        }
        return true;
    }

    /// <summary>Is the IP in the WhiteBox (unexpired, not in noPBwhite)? ASSP's pbWhiteFind.</summary>
    public bool IsWhite(ConfigSnapshot cfg, IPAddress ip)
    {
        var s = PenaltyBoxSettings.For(cfg);
        if (s.Mode == 0) return false;
        var key = s.LookupKey(ip);
        if (cfg.GetIpList("noPBwhite").Contains(ip))
        {
            _white.Remove(PbAddress.IpKey(ip));
            _white.Remove(key);
            return false;
        }
        return ReadWhite(s, key, Now) is not null;
    }

    public bool RemoveWhite(ConfigSnapshot cfg, IPAddress ip)
    {
        var key = PenaltyBoxSettings.For(cfg).LookupKey(ip);
        lock (Stripe(key))
        {
            bool removed = _white.Remove(PbAddress.IpKey(ip));
            return _white.Remove(key) | removed;
        }
    }

    // ---------------------------------------------------------------- lookups and decisions

    /// <summary>Everything known about the IP. As ASSP's find functions do, noPB/noPBwhite IPs are purged on sight.</summary>
    public PenaltyBoxStatus Lookup(ConfigSnapshot cfg, IPAddress ip)
    {
        var s = PenaltyBoxSettings.For(cfg);
        var key = s.LookupKey(ip);
        if (s.Mode == 0) return new PenaltyBoxStatus(key, null, null, false, false);
        long now = Now;
        BlackRecord? black = null;
        if (cfg.GetIpList("noPB").Contains(ip))
        {
            _black.Remove(PbAddress.IpKey(ip));
            _black.Remove(key);
        }
        else black = ReadBlack(s, key, now);
        WhiteRecord? white = null;
        if (cfg.GetIpList("noPBwhite").Contains(ip))
        {
            _white.Remove(PbAddress.IpKey(ip));
            _white.Remove(key);
        }
        else white = ReadWhite(s, key, now);
        return new PenaltyBoxStatus(key, black, white, black is not null && black.Score >= s.Limit, black is not null && s.IsExtreme(black.Score));
    }

    /// <summary>
    /// ASSP's PBOK: an IP whose BlackBox total reached PenaltyLimit is refused (DoPenalty 1; the caller replies with
    /// PenaltyError) or logged (DoPenalty 2). WhiteBox IPs pass.
    /// </summary>
    public PenaltyDecision CheckPenalty(ConfigSnapshot cfg, IPAddress ip)
    {
        var s = PenaltyBoxSettings.For(cfg);
        if (s.Mode == 0) return PenaltyDecision.Pass;
        var st = Lookup(cfg, ip);
        if (st.InWhite || st.Black is not { } b) return PenaltyDecision.Pass;
        if (b.Score < s.Limit) return new(PenaltyAction.Pass, b.Score);
        var reason = $"totalscore for {Show(ip)} is {PbValue.FormatScore(b.Score)}, last bad penalty was '{b.Reason}'";
        return new(s.Mode == 1 ? PenaltyAction.Block : PenaltyAction.Monitor, b.Score, reason);
    }

    /// <summary>
    /// DoPenaltyExtremeSMTP (run at MAIL FROM, before delaying): blocks an IP whose score from earlier sessions is at
    /// or above PenaltyExtreme, with "554 5.7.1 Extreme Bad IP Profile". Exempt here: noPB, noExtremePB, the WhiteBox
    /// and, when given, a sender in noExtremePBAddresses (pass it without a BATV tag). The caller skips ISP, noDelay,
    /// acceptAllMail, noBlockingIPs and whitelisted/noprocessing IPs (unless ExtremeWL/ExtremeNP), as ASSP does.
    /// </summary>
    public PenaltyDecision CheckExtremeAtConnect(ConfigSnapshot cfg, IPAddress ip, string? mailFrom = null)
    {
        int mode = cfg.GetChoice("DoPenaltyExtremeSMTP");
        var s = PenaltyBoxSettings.For(cfg);
        if (mode == 0 || s.Mode == 0 || s.Extreme <= 0) return PenaltyDecision.Pass;
        var key = s.LookupKey(ip);
        if (ReadBlack(s, key, Now) is not { } b || b.Score < s.Extreme) return PenaltyDecision.Pass;
        if (ExtremeExempt(cfg, ip, mailFrom) || IsWhite(cfg, ip)) return new(PenaltyAction.Pass, b.Score);
        return mode == 1
            ? new(PenaltyAction.Block, b.Score, $"connection from {Show(ip)} denied by PenaltyBox Extreme '{key}'", ExtremeSmtpReply)
            : new(PenaltyAction.Monitor, b.Score, $"connection from {Show(ip)} would be denied by PenaltyBox Extreme '{key}'");
    }

    /// <summary>
    /// The IP-history step after the header (ASSP's PBExtremeOK). A WhiteBox IP gets the pbwValencePB bonus and
    /// leaves the BlackBox. With DoPenaltyExtreme on, the stored total plus <paramref name="pendingIpScore"/> (IP
    /// score of this session not yet added) at PenaltyLimit gives pbValencePB, at PenaltyExtreme pbeValencePB and a
    /// block (1; reply PenaltyError/SpamError, the caller's) or a monitor note (2).
    /// </summary>
    public PenaltyDecision CheckAfterHeader(ConfigSnapshot cfg, IPAddress ip, double pendingIpScore = 0, string? mailFrom = null)
    {
        var s = PenaltyBoxSettings.For(cfg);
        if (s.Mode == 0) return PenaltyDecision.Pass;
        if (IsWhite(cfg, ip))
        {
            RemoveBlack(cfg, ip);
            return new(PenaltyAction.Pass, 0, "In Penalty White Box", null, "pbwValencePB", "InWhiteBox");
        }
        int mode = cfg.GetChoice("DoPenaltyExtreme");
        if (mode == 0 || s.Extreme <= 0) return PenaltyDecision.Pass;
        var b = ReadBlack(s, s.LookupKey(ip), Now);
        if (b is null && pendingIpScore <= 0) return PenaltyDecision.Pass;
        if (ExtremeExempt(cfg, ip, mailFrom)) return PenaltyDecision.Pass;
        double total = (b?.Score ?? 0) + (double.IsFinite(pendingIpScore) ? pendingIpScore : 0);
        if (total >= s.Extreme)
        {
            var reason = $"score for {Show(ip)} is {PbValue.FormatScore(total)}, surpassing extreme level of {PbValue.FormatScore(s.Extreme)}"
                + (b is null ? "" : $", last penalty was '{b.Reason}'");
            return new(mode == 1 ? PenaltyAction.Block : PenaltyAction.Monitor, total, reason, null, "pbeValencePB", "ExtremeHistory");
        }
        if (total >= s.Limit) return new(PenaltyAction.Pass, total, $"Bad IP History ({Show(ip)})", null, "pbValencePB", "BadHistory");
        return new(PenaltyAction.Pass, total);
    }

    /// <summary>
    /// DelayIP greystriking (at connect): an IP whose BlackBox total is above DelayIP is refused with
    /// "451 4.7.1 Please try again later" for DelayIPTime minutes from its first refusal. The first connection after
    /// the embargo passes and clears it; a later one starts a new embargo while the score stays high (as in ASSP).
    /// Private, noPB and WhiteBox IPs pass, and allTestMode disables it. The caller skips sessions ASSP does not
    /// IP-check (relay, whitelisted, noprocessing, ISP).
    /// </summary>
    public PenaltyDecision CheckDelayIp(ConfigSnapshot cfg, IPAddress ip)
    {
        double limit = cfg.GetDecimal("DelayIP");
        long embargo = (long)(cfg.GetDecimal("DelayIPTime") * 60);
        var s = PenaltyBoxSettings.For(cfg);
        if (limit <= 0 || embargo <= 0 || s.Mode == 0 || cfg.GetBool("allTestMode")) return PenaltyDecision.Pass;
        var key = s.LookupKey(ip);
        long now = Now;
        var b = ReadBlack(s, key, now);
        if (b is not null && b.Score > limit && !PbAddress.IsPrivate(ip) && !cfg.GetIpList("noPB").Contains(ip) && !IsWhite(cfg, ip))
        {
            long start = _embargo.GetOrAdd(key, now);
            if (start + embargo > now)
                return new(PenaltyAction.TempFail, b.Score,
                    $"delayed ip {Show(ip)}, because PBBlack({PbValue.FormatScore(b.Score)}) is higher than DelayIP({PbValue.FormatScore(limit)}) - last penalty reason was: {b.Reason}",
                    DelayIpReply);
        }
        if (_embargo.TryGetValue(key, out var started) && started + embargo <= now)
            _embargo.TryRemove(KeyValuePair.Create(key, started));
        return new(PenaltyAction.Pass, b?.Score ?? 0);
    }

    private static bool ExtremeExempt(ConfigSnapshot cfg, IPAddress ip, string? mailFrom) =>
        cfg.GetIpList("noPB").Contains(ip) || cfg.GetIpList("noExtremePB").Contains(ip)
        || (!string.IsNullOrEmpty(mailFrom) && cfg.GetAddressList("noExtremePBAddresses").Contains(mailFrom));

    // ---------------------------------------------------------------- traps

    /// <summary>
    /// Counts an invalid recipient address (ASSP's pbTrapAdd); returns the new count, or 0 when not counted:
    /// DoPenaltyMakeTraps off or 3, PenaltyMakeTraps 0, the client in noProcessingIPs or noPB, the address in
    /// noPenaltyMakeTraps or spamtrapaddresses. Call it also when a trap is hit for the first time in a session, as
    /// ASSP does. Do not call it while address validation is failing temporarily (LDAP down).
    /// </summary>
    public int RecordInvalidRecipient(ConfigSnapshot cfg, string address, IPAddress remoteIp)
    {
        int mode = cfg.GetChoice("DoPenaltyMakeTraps");
        int limit = cfg.GetInt("PenaltyMakeTraps");
        if (mode is 0 or 3 || limit <= 0) return 0;
        var addr = TrapKey(address);
        if (addr.Length == 0) return 0;
        if (cfg.GetIpList("noProcessingIPs").Contains(remoteIp) || cfg.GetIpList("noPB").Contains(remoteIp)) return 0;
        if (cfg.GetAddressList("noPenaltyMakeTraps").Contains(addr) || cfg.GetAddressList("spamtrapaddresses").Contains(addr)) return 0;
        long now = Now;
        long maxAge = TrapMaxAge(cfg);
        lock (Stripe(addr))
        {
            var old = _traps.TryGetValue(addr, out var v) ? TrapRecord.Parse(v) : null;
            if (old is not null && TrapExpired(old, now, maxAge, limit)) old = null;
            var next = old is null ? new TrapRecord(now, now, 1) : old with { Updated = now, Count = old.Count + 1 };
            _traps.Set(addr, next.Format(), now);
            return next.Count;
        }
    }

    /// <summary>
    /// Has the address become a trap (ASSP's pbTrapFind)? It is one at PenaltyMakeTraps hits; it acts as a spam trap
    /// unless DoPenaltyMakeTraps is 2 (only collect). noPenaltyMakeTraps addresses are removed and never traps.
    /// </summary>
    public TrapStatus FindTrap(ConfigSnapshot cfg, string address)
    {
        int mode = cfg.GetChoice("DoPenaltyMakeTraps");
        int limit = cfg.GetInt("PenaltyMakeTraps");
        var addr = TrapKey(address);
        if (mode == 0 || limit <= 0 || addr.Length == 0) return TrapStatus.None;
        if (cfg.GetAddressList("noPenaltyMakeTraps").Contains(addr))
        {
            _traps.Remove(addr);
            return TrapStatus.None;
        }
        if (!_traps.TryGetValue(addr, out var v) || TrapRecord.Parse(v) is not { } t) return TrapStatus.None;
        if (TrapExpired(t, Now, TrapMaxAge(cfg), limit)) return TrapStatus.None;
        return t.Count < limit ? new TrapStatus(t.Count, false, false) : new TrapStatus(t.Count, true, mode != 2);
    }

    private static string TrapKey(string address) => address.Trim().Trim('<', '>').Trim().ToLowerInvariant();

    private static long TrapMaxAge(ConfigSnapshot cfg) => (long)Math.Max(0, cfg.GetDecimal("PBTrapInterval") * 86400);

    // A counter that reached the limit is a trap and stays one (ASSP's cleanTrapPB keeps it).
    private static bool TrapExpired(TrapRecord t, long now, long maxAge, int limit) => now - t.Created >= maxAge && t.Count < limit;

    // ---------------------------------------------------------------- maintenance

    /// <summary>
    /// ASSP's CleanPB (every CleanPBInterval hours): expires BlackBox, WhiteBox and trap records by their rules, drops
    /// BlackBox rows of private IPs, WhiteBox IPs and IPs in ispip, noProcessingIPs, whiteListedIPs, noDelay, noPB or
    /// contentOnlyRe, WhiteBox rows in noPBwhite, denySMTPConnectionsFromAlways or (DoDropList 2/3) droplist, and
    /// DelayIP embargoes older than a day. PenaltyExpiration 0 empties the BlackBox.
    /// </summary>
    public PenaltyBoxCleanup Cleanup(ConfigSnapshot cfg)
    {
        var s = PenaltyBoxSettings.For(cfg);
        long now = Now;

        int blackBefore = Count(_black);
        int blackDeleted;
        bool wiped = cfg.GetDecimal("PenaltyExpiration") <= 0;
        if (wiped)
        {
            _black.Clear();
            blackDeleted = blackBefore;
        }
        else
        {
            IpList[] exempt = [.. new[] { "ispip", "noProcessingIPs", "whiteListedIPs", "noDelay", "noPB" }.Select(cfg.GetIpList)];
            var contentOnly = cfg.GetRegex("contentOnlyRe");
            blackDeleted = _black.RemoveWhere((key, rec) =>
            {
                if (PbAddress.IsPrivateKey(key) || BlackRecord.Parse(rec.Value) is not { } r) return true;
                if (s.BlackExpired(r, now)) return true;
                // Global entries follow only their own expiry.
                if (r.IsGlobal) return false;
                return _white.ContainsKey(key) || exempt.Any(l => l.Contains(key)) || contentOnly.IsMatch(key);
            });
        }

        int whiteBefore = Count(_white);
        var denyAlways = cfg.GetIpList("denySMTPConnectionsFromAlways");
        var droplist = cfg.GetChoice("DoDropList") is 2 or 3 ? cfg.GetIpList("droplist") : IpList.Empty;
        var noPBwhite = cfg.GetIpList("noPBwhite");
        int whiteDeleted = _white.RemoveWhere((key, rec) =>
        {
            if (key.Length == 0 || key == "0.0.0.0" || WhiteRecord.Parse(rec.Value) is not { } w) return true;
            if (w.Status == WhiteRecord.GlobalStatus) return s.WhiteExpired(w, now);
            return denyAlways.Contains(key) || droplist.Contains(key) || noPBwhite.Contains(key) || s.WhiteExpired(w, now);
        });

        int trapsBefore = Count(_traps);
        long trapAge = TrapMaxAge(cfg);
        int trapLimit = cfg.GetInt("PenaltyMakeTraps");
        int trapsDeleted = _traps.RemoveWhere((_, rec) => TrapRecord.Parse(rec.Value) is not { } t || TrapExpired(t, now, trapAge, trapLimit));

        int embargoes = 0;
        foreach (var kv in _embargo)
            if (kv.Value <= now - EmbargoCacheSeconds && _embargo.TryRemove(kv)) embargoes++;

        return new PenaltyBoxCleanup(blackBefore, blackDeleted, wiped, whiteBefore, whiteDeleted, trapsBefore, trapsDeleted, embargoes);
    }

    private static int Count(IStoreTable t) => (int)Math.Min(int.MaxValue, t.Count);

    /// <summary>
    /// ASSP's exportExtreme (every exportInterval hours when DoExtremeExport is on): writes the IPs whose BlackBox
    /// score is at or above PenaltyExtreme, one per line and sorted, to the exportExtremeBlack file (relative to the
    /// base folder); with DoExtremeExportAppend the IPs already in the file are kept. The file is swapped in whole
    /// (the old one becomes .bak), so a firewall never reads half of it.
    /// </summary>
    public ExtremeExportResult ExportExtreme(ConfigSnapshot cfg)
    {
        if (!cfg.GetBool("DoExtremeExport")) return default;
        var rel = ConfigLoader.FileReference(cfg["exportExtremeBlack"]);
        if (rel is null) return default;
        var path = Path.GetFullPath(Path.IsPathRooted(rel) ? rel : Path.Combine(cfg.BaseDirectory, rel));
        var s = PenaltyBoxSettings.For(cfg);
        long now = Now;
        var noPB = cfg.GetIpList("noPB");
        var noExtreme = cfg.GetIpList("noExtremePB");

        lock (_exportGate)
        {
            var ips = new SortedSet<string>(StringComparer.Ordinal);
            int imported = 0, added = 0;
            try
            {
                if (cfg.GetBool("DoExtremeExportAppend") && File.Exists(path))
                {
                    foreach (var line in File.ReadLines(path))
                    {
                        var ip = string.Concat(line.Where(c => c is not ('\r' or '\n' or '\t' or ' ')));
                        if (ip.Length == 0) continue;
                        imported++;
                        ips.Add(ip);
                    }
                }
                if (s.Extreme > 0)
                {
                    foreach (var (key, rec) in _black.Scan())
                    {
                        if (BlackRecord.Parse(rec.Value) is not { } r || r.IsGlobal || r.Score < s.Extreme || s.BlackExpired(r, now)) continue;
                        // Network rows are not IPs a firewall should drop; ASSP recognises them by the trailing ".0".
                        if (r.Ip.Length > 0 ? key != r.Ip : key.EndsWith(".0", StringComparison.Ordinal)) continue;
                        if (noPB.Contains(key) || noExtreme.Contains(key)) continue;
                        if (ips.Add(key)) added++;
                    }
                }
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var tmp = path + ".tmp";
                var text = new StringBuilder();
                foreach (var ip in ips) text.Append(ip).Append('\n');
                File.WriteAllText(tmp, text.ToString(), new UTF8Encoding(false));
                if (File.Exists(path)) File.Replace(tmp, path, path + ".bak");
                else File.Move(tmp, path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return new ExtremeExportResult(false, path, 0, imported, 0, e.Message);
            }
            return new ExtremeExportResult(true, path, ips.Count, imported, added);
        }
    }

    // ---------------------------------------------------------------- GUI and email interface

    /// <summary>The BlackBox rows (address and network rows), expired ones only when asked.</summary>
    public IEnumerable<BlackEntry> BlackEntries(ConfigSnapshot cfg, bool includeExpired = false)
    {
        var s = PenaltyBoxSettings.For(cfg);
        long now = Now;
        foreach (var (key, rec) in _black.Scan())
            if (BlackRecord.Parse(rec.Value) is { } r && (includeExpired || !s.BlackExpired(r, now)))
                yield return new BlackEntry(key, r);
    }

    public IEnumerable<WhiteEntry> WhiteEntries(ConfigSnapshot cfg, bool includeExpired = false)
    {
        var s = PenaltyBoxSettings.For(cfg);
        long now = Now;
        foreach (var (key, rec) in _white.Scan())
            if (WhiteRecord.Parse(rec.Value) is { } w && (includeExpired || !s.WhiteExpired(w, now)))
                yield return new WhiteEntry(key, w);
    }

    public IEnumerable<TrapEntry> TrapEntries(ConfigSnapshot cfg, bool includeExpired = false)
    {
        long now = Now, maxAge = TrapMaxAge(cfg);
        int limit = cfg.GetInt("PenaltyMakeTraps");
        foreach (var (key, rec) in _traps.Scan())
            if (TrapRecord.Parse(rec.Value) is { } t && (includeExpired || !TrapExpired(t, now, maxAge, limit)))
                yield return new TrapEntry(key, t);
    }

    /// <summary>Removes one row by its key as listed (an IP, a network key, or a trap address).</summary>
    public bool Remove(PenaltyBoxTable table, string key)
    {
        var (t, k) = table switch
        {
            PenaltyBoxTable.Black => (_black, key.Trim()),
            PenaltyBoxTable.White => (_white, key.Trim()),
            _ => (_traps, TrapKey(key)),
        };
        lock (Stripe(k)) return t.Remove(k);
    }

    // ---------------------------------------------------------------- helpers

    private BlackRecord? ReadBlack(PenaltyBoxSettings s, string key, long now) =>
        _black.TryGetValue(key, out var v) && BlackRecord.Parse(v) is { } r && !s.BlackExpired(r, now) ? r : null;

    private WhiteRecord? ReadWhite(PenaltyBoxSettings s, string key, long now) =>
        _white.TryGetValue(key, out var v) && WhiteRecord.Parse(v) is { } w && !s.WhiteExpired(w, now) ? w : null;

    private static string Show(IPAddress ip) => PbAddress.Normalize(ip).ToString();

    void IIpReputation.AddBlack(ConfigSnapshot cfg, IPAddress ip, double score, string reason) => AddBlack(cfg, ip, score, reason);
    void IIpReputation.AddWhite(ConfigSnapshot cfg, IPAddress ip, string reason) => AddWhite(cfg, ip, reason);
    void IIpReputation.DeleteBlack(ConfigSnapshot cfg, IPAddress ip) => RemoveBlack(cfg, ip);
    void IIpReputation.DeleteWhite(ConfigSnapshot cfg, IPAddress ip) => RemoveWhite(cfg, ip);
}

using System.Net;
using Assp.Checks.Decision;
using Assp.Checks.PenaltyBox;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Tests.PenaltyBox;

public sealed class IpPenaltyBoxTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly long T0 = Start.ToUnixTimeSeconds();
    private static readonly IPAddress Spammer = IPAddress.Parse("203.0.113.7");
    private static readonly IPAddress Neighbour = IPAddress.Parse("203.0.113.8");
    private static readonly IPAddress Other = IPAddress.Parse("198.51.100.20");

    private readonly ManualClock _clock = new(Start);
    private readonly MemoryStore _store;
    private readonly IpPenaltyBox _box;

    public IpPenaltyBoxTests()
    {
        _store = new MemoryStore(_clock);
        _box = new IpPenaltyBox(_store, _clock);
    }

    /// <summary>DoPenalty block, netblocks off (so single IPs are scored), plus the given values.</summary>
    private static ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create([("DoPenalty", "1"), ("PenaltyUseNetblocks", "0"), .. values]);

    private IStoreTable Black => _store.Table(StoreTables.PbBlack);
    private IStoreTable White => _store.Table(StoreTables.PbWhite);
    private IStoreTable Traps => _store.Table(StoreTables.PbTrap);

    // ------------------------------------------------------------ layouts

    [Fact]
    public void BlackBox_values_use_ASSPs_layout()
    {
        var cfg = Cfg();
        _box.AddBlack(cfg, Spammer, 25, "DNSBL failed");
        Assert.True(Black.TryGetValue("203.0.113.7", out var v1));
        Assert.Equal($"{T0} {T0} 1 25 203.0.113.7 DNSBL_failed", v1);

        _clock.Advance(TimeSpan.FromMinutes(2));
        _box.AddBlack(cfg, Spammer, 12.5, "invalidHelo");
        Black.TryGetValue("203.0.113.7", out var v2);
        Assert.Equal($"{T0} {T0 + 120} 2 37.5 203.0.113.7 invalidHelo", v2);

        // A bonus keeps the last penalty's reason.
        _box.AddBlack(cfg, Spammer, -7.5, "MessageOK");
        Black.TryGetValue("203.0.113.7", out var v3);
        Assert.Equal($"{T0} {T0 + 120} 3 30 203.0.113.7 invalidHelo", v3);
    }

    [Fact]
    public void WhiteBox_values_use_ASSPs_layout_and_keep_the_first_seen_time()
    {
        var cfg = Cfg();
        Assert.True(_box.AddWhite(cfg, Spammer, "Whitelisted sender"));
        White.TryGetValue("203.0.113.7", out var v1);
        Assert.Equal($"{T0} {T0} 2 Whitelisted_sender", v1);

        _clock.Advance(TimeSpan.FromDays(3));
        _box.AddWhite(cfg, Spammer, "Whitelisted");
        White.TryGetValue("203.0.113.7", out var v2);
        Assert.Equal($"{T0} {T0 + 3 * 86400} 2 Whitelisted", v2);
    }

    [Fact]
    public void Imported_ASSP_values_are_read_as_they_are()
    {
        var cfg = Cfg();
        Black.Set("203.0.113.7", $"{T0 - 60} {T0 - 30} 4 80 203.0.113.7 old reason with spaces");
        White.Set("198.51.100.20", $"{T0 - 60} {T0 - 60} 3 GLOBALPB");
        var st = _box.Lookup(cfg, Spammer);
        Assert.Equal(80, st.BlackScore);
        Assert.Equal(4, st.Black!.Count);
        Assert.Equal("old reason with spaces", st.Black.Reason);
        Assert.True(st.OverLimit);
        Assert.True(_box.IsWhite(cfg, Other));
        Assert.Equal(WhiteRecord.GlobalStatus, _box.Lookup(cfg, Other).White!.Status);
    }

    // ------------------------------------------------------------ limit, window, expiry

    [Fact]
    public void An_IP_crossing_PenaltyLimit_is_blocked_and_monitor_mode_only_reports()
    {
        var cfg = Cfg(("PenaltyLimit", "50"));
        Assert.Equal(BlackAddOutcome.Created, _box.AddBlack(cfg, Spammer, 30, "a").Outcome);
        Assert.Equal(PenaltyAction.Pass, _box.CheckPenalty(cfg, Spammer).Action);

        var added = _box.AddBlack(cfg, Spammer, 20, "b");
        Assert.Equal(BlackAddOutcome.Added, added.Outcome);
        Assert.Equal(50, added.Total);
        var d = _box.CheckPenalty(cfg, Spammer);
        Assert.Equal(PenaltyAction.Block, d.Action);
        Assert.Equal(50, d.Total);
        Assert.Contains("totalscore for 203.0.113.7 is 50", d.Reason);
        Assert.Equal(PenaltyAction.Pass, _box.CheckPenalty(cfg, Other).Action);

        var monitor = Cfg(("DoPenalty", "2"), ("PenaltyLimit", "50"));
        Assert.Equal(PenaltyAction.Monitor, _box.CheckPenalty(monitor, Spammer).Action);
    }

    [Fact]
    public void Scores_accumulate_only_within_PenaltyDuration()
    {
        var cfg = Cfg(("PenaltyLimit", "50"), ("PenaltyDuration", "60"));
        _box.AddBlack(cfg, Spammer, 30, "a");
        _clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(30, _box.BlackTotal(cfg, Spammer));

        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(_box.BlackTotal(cfg, Spammer));
        var r = _box.AddBlack(cfg, Spammer, 30, "b");
        Assert.Equal(BlackAddOutcome.Created, r.Outcome);
        Assert.Equal(30, r.Total);
        Assert.Equal(PenaltyAction.Pass, _box.CheckPenalty(cfg, Spammer).Action);
    }

    [Fact]
    public void A_blocked_IP_stays_until_PenaltyExpiration_after_its_first_penalty()
    {
        var cfg = Cfg(("PenaltyLimit", "50"), ("PenaltyDuration", "60"), ("PenaltyExpiration", "360"));
        _box.AddBlack(cfg, Spammer, 60, "a");
        _clock.Advance(TimeSpan.FromMinutes(300));
        Assert.Equal(PenaltyAction.Block, _box.CheckPenalty(cfg, Spammer).Action);
        _clock.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(PenaltyAction.Pass, _box.CheckPenalty(cfg, Spammer).Action);
        Assert.Null(_box.BlackTotal(cfg, Spammer));

        var c = _box.Cleanup(cfg);
        Assert.Equal((1, 1), (c.BlackBefore, c.BlackDeleted));
        Assert.False(Black.ContainsKey("203.0.113.7"));
    }

    [Fact]
    public void Extreme_IPs_stay_for_ExtremeExpiration_days()
    {
        var cfg = Cfg(("PenaltyExtreme", "150"), ("ExtremeExpiration", "7"));
        _box.AddBlack(cfg, Spammer, 200, "a");
        _clock.Advance(TimeSpan.FromDays(6));
        Assert.True(_box.Lookup(cfg, Spammer).Extreme);
        Assert.Equal(0, _box.Cleanup(cfg).BlackDeleted);
        _clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        Assert.False(_box.Lookup(cfg, Spammer).InBlack);
        Assert.Equal(1, _box.Cleanup(cfg).BlackDeleted);
    }

    [Fact]
    public void PenaltyExpiration_zero_wipes_the_BlackBox_at_cleanup()
    {
        var cfg = Cfg(("PenaltyExpiration", "0"));
        _box.AddBlack(cfg, Spammer, 60, "a");
        _box.AddBlack(cfg, Other, 10, "b");
        Assert.Equal(60, _box.BlackTotal(cfg, Spammer));
        var c = _box.Cleanup(cfg);
        Assert.True(c.BlackWiped);
        Assert.Equal(2, c.BlackDeleted);
        Assert.Equal(0, Black.Count);
    }

    [Fact]
    public void A_bonus_lowers_the_total_and_clears_the_record_at_zero_but_never_starts_one()
    {
        var cfg = Cfg();
        Assert.Equal(BlackAddOutcome.NoScore, _box.AddBlack(cfg, Spammer, -25, "ok").Outcome);
        _box.AddBlack(cfg, Spammer, 20, "a");
        Assert.Equal(BlackAddOutcome.Cleared, _box.AddBlack(cfg, Spammer, -25, "ok").Outcome);
        Assert.Null(_box.BlackTotal(cfg, Spammer));
        Assert.Equal(BlackAddOutcome.NoScore, _box.AddBlack(cfg, Spammer, 0, "zero").Outcome);
    }

    [Fact]
    public void DoPenalty_off_and_private_IPs_are_never_scored()
    {
        Assert.Equal(BlackAddOutcome.Disabled, _box.AddBlack(Cfg(("DoPenalty", "0")), Spammer, 60, "a").Outcome);
        var cfg = Cfg();
        foreach (var ip in new[] { "10.1.2.3", "192.168.1.1", "172.20.0.1", "127.0.0.1", "169.254.3.3", "::1", "fe80::1", "fd00::5" })
            Assert.Equal(BlackAddOutcome.PrivateIp, _box.AddBlack(cfg, IPAddress.Parse(ip), 60, "a").Outcome);
        Assert.Equal(0, Black.Count);
        Assert.Equal(BlackAddOutcome.Created, _box.AddBlack(cfg, IPAddress.Parse("172.32.0.1"), 1, "public").Outcome);
    }

    [Fact]
    public void An_IPv4_mapped_address_scores_the_IPv4_key()
    {
        var cfg = Cfg();
        _box.AddBlack(cfg, IPAddress.Parse("::ffff:203.0.113.7"), 10, "a");
        Assert.Equal(10, _box.BlackTotal(cfg, Spammer));
        Assert.True(Black.ContainsKey("203.0.113.7"));
    }

    // ------------------------------------------------------------ WhiteBox

    [Fact]
    public void WhiteBox_takes_the_IP_out_of_the_BlackBox_and_keeps_it_out()
    {
        var cfg = Cfg();
        _box.AddBlack(cfg, Spammer, 60, "a");
        _box.AddWhite(cfg, Spammer, "Whitelisted");
        Assert.Null(_box.BlackTotal(cfg, Spammer));
        Assert.Equal(BlackAddOutcome.WhiteBox, _box.AddBlack(cfg, Spammer, 60, "b").Outcome);
        Assert.Equal(PenaltyAction.Pass, _box.CheckPenalty(cfg, Spammer).Action);
        Assert.True(_box.Lookup(cfg, Spammer).InWhite);
        Assert.True(_box.RemoveWhite(cfg, Spammer));
        Assert.False(_box.IsWhite(cfg, Spammer));
    }

    [Fact]
    public void WhiteBox_entries_expire_WhiteExpiration_days_after_their_last_renewal()
    {
        var cfg = Cfg(("WhiteExpiration", "30"));
        _box.AddWhite(cfg, Spammer, "Whitelisted");
        _box.AddWhite(cfg, Other, "Whitelisted");
        _clock.Advance(TimeSpan.FromDays(20));
        _box.AddWhite(cfg, Other, "Whitelisted");
        _clock.Advance(TimeSpan.FromDays(10) - TimeSpan.FromSeconds(1));
        Assert.True(_box.IsWhite(cfg, Spammer));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(_box.IsWhite(cfg, Spammer));
        Assert.True(_box.IsWhite(cfg, Other));

        var c = _box.Cleanup(cfg);
        Assert.Equal((2, 1), (c.WhiteBefore, c.WhiteDeleted));
        Assert.Contains("PenaltyBox: cleaning WhiteBox (PBWhite) finished: IP's before=2, deleted=1", c.LogLines());
    }

    [Fact]
    public void noPBwhite_keeps_IPs_out_of_the_WhiteBox()
    {
        _box.AddWhite(Cfg(), Spammer, "Whitelisted");
        var cfg = Cfg(("noPBwhite", "203.0.113.0/24"));
        Assert.False(_box.IsWhite(cfg, Spammer));
        Assert.False(White.ContainsKey("203.0.113.7"));
        Assert.False(_box.AddWhite(cfg, Spammer, "Whitelisted"));
        Assert.Equal(0, White.Count);

        _box.AddWhite(Cfg(), Neighbour, "Whitelisted");
        Assert.Equal(1, _box.Cleanup(cfg).WhiteDeleted);
    }

    // ------------------------------------------------------------ noPB, netblocks

    [Fact]
    public void noPB_IPs_are_never_scored_and_are_removed_from_the_BlackBox()
    {
        _box.AddBlack(Cfg(), Spammer, 60, "a");
        _box.AddBlack(Cfg(), Neighbour, 60, "a");
        var cfg = Cfg(("noPB", "203.0.113.7|203.0.113.8"));
        Assert.False(_box.Lookup(cfg, Spammer).InBlack);
        Assert.False(Black.ContainsKey("203.0.113.7"));
        Assert.Equal(BlackAddOutcome.NoPenaltyBox, _box.AddBlack(cfg, Spammer, 60, "b").Outcome);
        Assert.False(Black.ContainsKey("203.0.113.7"));
        // The cleanup drops noPB rows too.
        Assert.Equal(1, _box.Cleanup(cfg).BlackDeleted);
        Assert.Equal(0, Black.Count);
    }

    [Fact]
    public void With_netblocks_the_24_network_is_scored_together()
    {
        var cfg = Cfg(("PenaltyUseNetblocks", "1"), ("PenaltyLimit", "50"));
        _box.AddBlack(cfg, Spammer, 30, "a");
        _box.AddBlack(cfg, Neighbour, 30, "b");
        Assert.Equal(60, _box.BlackTotal(cfg, IPAddress.Parse("203.0.113.99")));
        Assert.Equal(PenaltyAction.Block, _box.CheckPenalty(cfg, IPAddress.Parse("203.0.113.200")).Action);
        Assert.Null(_box.BlackTotal(cfg, IPAddress.Parse("203.0.114.7")));
        Black.TryGetValue("203.0.113.0", out var net);
        Assert.Equal($"{T0} {T0} 2 60 203.0.113.8 b", net);
        Assert.True(Black.ContainsKey("203.0.113.7"));
        Assert.True(_box.BlackEntries(cfg).Single(e => e.Key == "203.0.113.0").IsNetwork);

        // Without netblocks each address has its own score.
        var single = Cfg(("PenaltyLimit", "50"));
        var box2 = new IpPenaltyBox(new MemoryStore(_clock), _clock);
        box2.AddBlack(single, Spammer, 30, "a");
        box2.AddBlack(single, Neighbour, 30, "b");
        Assert.Equal(30, box2.BlackTotal(single, Spammer));
        Assert.Equal(30, box2.BlackTotal(single, Neighbour));
    }

    [Fact]
    public void With_netblocks_IPv6_is_scored_per_64()
    {
        var cfg = Cfg(("PenaltyUseNetblocks", "1"));
        _box.AddBlack(cfg, IPAddress.Parse("2001:db8:1:2::5"), 20, "a");
        _box.AddBlack(cfg, IPAddress.Parse("2001:db8:1:2:ffff::9"), 20, "b");
        Assert.Equal(40, _box.BlackTotal(cfg, IPAddress.Parse("2001:db8:1:2::1")));
        Assert.Null(_box.BlackTotal(cfg, IPAddress.Parse("2001:db8:1:3::1")));
        Assert.True(Black.ContainsKey("2001:db8:1:2:0:0:0:0"));
        Assert.True(Black.ContainsKey("2001:db8:1:2:0:0:0:5"));
    }

    [Fact]
    public void With_netblocks_one_white_IP_whitens_its_network()
    {
        var cfg = Cfg(("PenaltyUseNetblocks", "1"));
        _box.AddBlack(cfg, Neighbour, 30, "a");
        _box.AddWhite(cfg, Spammer, "Whitelisted");
        Assert.True(_box.IsWhite(cfg, Neighbour));
        Assert.Null(_box.BlackTotal(cfg, Neighbour));
        Assert.True(_box.RemoveWhite(cfg, Spammer));
        Assert.False(_box.IsWhite(cfg, Neighbour));
    }

    // ------------------------------------------------------------ extreme

    [Fact]
    public void DoPenaltyExtremeSMTP_blocks_extreme_IPs_except_exempt_ones()
    {
        var cfg = Cfg(("DoPenaltyExtremeSMTP", "1"), ("PenaltyExtreme", "150"),
            ("noExtremePB", "198.51.100.20"), ("noExtremePBAddresses", "friend@example.org"));
        _box.AddBlack(cfg, Spammer, 149, "a");
        _box.AddBlack(cfg, Other, 300, "a");
        Assert.Equal(PenaltyAction.Pass, _box.CheckExtremeAtConnect(cfg, Spammer).Action);
        _box.AddBlack(cfg, Spammer, 1, "b");
        var d = _box.CheckExtremeAtConnect(cfg, Spammer, "someone@example.com");
        Assert.Equal(PenaltyAction.Block, d.Action);
        Assert.Equal(IpPenaltyBox.ExtremeSmtpReply, d.Reply);
        Assert.Equal(PenaltyAction.Pass, _box.CheckExtremeAtConnect(cfg, Spammer, "friend@example.org").Action);
        Assert.Equal(PenaltyAction.Pass, _box.CheckExtremeAtConnect(cfg, Other).Action);

        var monitor = Cfg(("DoPenaltyExtremeSMTP", "2"), ("PenaltyExtreme", "150"));
        Assert.Equal(PenaltyAction.Monitor, _box.CheckExtremeAtConnect(monitor, Spammer).Action);
        Assert.Equal(PenaltyAction.Pass, _box.CheckExtremeAtConnect(Cfg(("PenaltyExtreme", "150")), Spammer).Action);
    }

    [Fact]
    public void After_the_header_previous_and_current_scores_count()
    {
        var cfg = Cfg(("DoPenaltyExtreme", "1"), ("PenaltyLimit", "50"), ("PenaltyExtreme", "150"));
        _box.AddBlack(cfg, Spammer, 120, "a");
        var bad = _box.CheckAfterHeader(cfg, Spammer);
        Assert.Equal((PenaltyAction.Pass, "pbValencePB", "BadHistory"), (bad.Action, bad.ValenceOption, bad.ScoreReason));

        var extreme = _box.CheckAfterHeader(cfg, Spammer, pendingIpScore: 30);
        Assert.Equal(PenaltyAction.Block, extreme.Action);
        Assert.Equal(150, extreme.Total);
        Assert.Equal("pbeValencePB", extreme.ValenceOption);

        Assert.Equal(PenaltyAction.Monitor, _box.CheckAfterHeader(Cfg(("DoPenaltyExtreme", "2"), ("PenaltyExtreme", "150")), Spammer, 30).Action);
        Assert.Equal(PenaltyAction.Pass, _box.CheckAfterHeader(Cfg(("DoPenaltyExtreme", "1"), ("PenaltyExtreme", "150"), ("noExtremePB", "203.0.113.7")), Spammer, 30).Action);
        Assert.Equal(PenaltyAction.Pass, _box.CheckAfterHeader(Cfg(("PenaltyExtreme", "150")), Spammer, 30).Action);
    }

    [Fact]
    public void After_the_header_a_WhiteBox_IP_gets_the_white_bonus()
    {
        var cfg = Cfg();
        _box.AddWhite(cfg, Spammer, "Whitelisted");
        var d = _box.CheckAfterHeader(cfg, Spammer);
        Assert.Equal((PenaltyAction.Pass, "pbwValencePB", "InWhiteBox"), (d.Action, d.ValenceOption, d.ScoreReason));
    }

    // ------------------------------------------------------------ export

    private static string ExportPath(ConfigSnapshot cfg) => Path.Combine(cfg.BaseDirectory, "files", "exportedextreme.txt");

    [Fact]
    public void Extreme_IPs_are_exported_sorted_and_the_file_is_replaced()
    {
        var cfg = Cfg(("DoExtremeExport", "1"), ("PenaltyExtreme", "150"), ("PenaltyUseNetblocks", "1"),
            ("noExtremePB", "192.0.2.99"));
        _box.AddBlack(cfg, Spammer, 200, "a");
        _box.AddBlack(cfg, IPAddress.Parse("192.0.2.1"), 150, "a");
        _box.AddBlack(cfg, IPAddress.Parse("192.0.2.99"), 0.5, "a");
        _box.AddBlack(cfg, Other, 149, "a");
        var path = ExportPath(cfg);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "10.9.9.9\n");

        var r = _box.ExportExtreme(cfg);
        Assert.True(r.Written, r.Error);
        Assert.Equal(path, r.Path);
        // Network rows (203.0.113.0, 192.0.2.0) and noExtremePB IPs are not exported; the old file is replaced.
        Assert.Equal("192.0.2.1\n203.0.113.7\n", File.ReadAllText(path));
        Assert.Equal("10.9.9.9\n", File.ReadAllText(path + ".bak"));
        Assert.Equal(2, r.Entries);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Append_mode_keeps_the_IPs_already_in_the_file()
    {
        var cfg = Cfg(("DoExtremeExport", "1"), ("DoExtremeExportAppend", "1"), ("PenaltyExtreme", "150"));
        var path = ExportPath(cfg);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "198.18.0.1\r\n\r\n 203.0.113.7 \n");
        _box.AddBlack(cfg, Spammer, 200, "a");
        _box.AddBlack(cfg, IPAddress.Parse("192.0.2.1"), 150, "a");
        var r = _box.ExportExtreme(cfg);
        Assert.True(r.Written);
        Assert.Equal((2, 1, 3), (r.Imported, r.Added, r.Entries));
        Assert.Equal("192.0.2.1\n198.18.0.1\n203.0.113.7\n", File.ReadAllText(path));

        // An overwrite drops IPs that are no longer extreme.
        _clock.Advance(TimeSpan.FromDays(8));
        var over = Cfg(("DoExtremeExport", "1"), ("PenaltyExtreme", "150"));
        Assert.True(_box.ExportExtreme(over).Written);
        Assert.Equal("", File.ReadAllText(ExportPath(over)));
    }

    [Fact]
    public void No_export_without_DoExtremeExport()
    {
        var cfg = Cfg(("PenaltyExtreme", "150"));
        _box.AddBlack(cfg, Spammer, 200, "a");
        Assert.False(_box.ExportExtreme(cfg).Written);
        Assert.False(File.Exists(ExportPath(cfg)));
    }

    // ------------------------------------------------------------ DelayIP

    [Fact]
    public void DelayIP_refuses_for_the_embargo_then_lets_one_connection_through()
    {
        var cfg = Cfg(("DelayIP", "40"), ("DelayIPTime", "5"), ("PenaltyDuration", "600"));
        _box.AddBlack(cfg, Other, 40, "a");
        Assert.Equal(PenaltyAction.Pass, _box.CheckDelayIp(cfg, Other).Action);

        _box.AddBlack(cfg, Spammer, 45, "a");
        var d = _box.CheckDelayIp(cfg, Spammer);
        Assert.Equal(PenaltyAction.TempFail, d.Action);
        Assert.Equal(IpPenaltyBox.DelayIpReply, d.Reply);
        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(PenaltyAction.TempFail, _box.CheckDelayIp(cfg, Spammer).Action);
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(PenaltyAction.Pass, _box.CheckDelayIp(cfg, Spammer).Action);
        // The score is still high: the next connection starts a new embargo.
        Assert.Equal(PenaltyAction.TempFail, _box.CheckDelayIp(cfg, Spammer).Action);

        Assert.Equal(PenaltyAction.Pass, _box.CheckDelayIp(Cfg(("DelayIP", "40"), ("DelayIPTime", "5"), ("allTestMode", "1")), Spammer).Action);
        Assert.Equal(PenaltyAction.Pass, _box.CheckDelayIp(Cfg(("DelayIPTime", "5")), Spammer).Action);
        Assert.Equal(PenaltyAction.Pass, _box.CheckDelayIp(Cfg(("DelayIP", "40"), ("DelayIPTime", "5"), ("noPB", "203.0.113.7")), Spammer).Action);
    }

    [Fact]
    public void DelayIP_embargoes_are_forgotten_after_a_day()
    {
        var cfg = Cfg(("DelayIP", "10"), ("DelayIPTime", "5"), ("PenaltyExtreme", "150"));
        _box.AddBlack(cfg, Spammer, 200, "a");
        Assert.Equal(PenaltyAction.TempFail, _box.CheckDelayIp(cfg, Spammer).Action);
        _clock.Advance(TimeSpan.FromHours(25));
        Assert.Equal(1, _box.Cleanup(cfg).EmbargoesDeleted);
        Assert.Equal(PenaltyAction.TempFail, _box.CheckDelayIp(cfg, Spammer).Action);
    }

    // ------------------------------------------------------------ traps

    [Fact]
    public void An_invalid_address_seen_PenaltyMakeTraps_times_becomes_a_trap()
    {
        var cfg = Cfg(("DoPenaltyMakeTraps", "1"), ("PenaltyMakeTraps", "3"), ("noPenaltyMakeTraps", "postmaster@example.com"));
        for (int i = 1; i <= 2; i++) Assert.Equal(i, _box.RecordInvalidRecipient(cfg, "<Nobody@Example.com>", Spammer));
        Assert.Equal(new TrapStatus(2, false, false), _box.FindTrap(cfg, "nobody@example.com"));
        _box.RecordInvalidRecipient(cfg, "nobody@example.com", Spammer);
        Assert.Equal(new TrapStatus(3, true, true), _box.FindTrap(cfg, "NOBODY@example.com"));
        Traps.TryGetValue("nobody@example.com", out var v);
        Assert.Equal($"{T0} {T0} 3", v);

        // Mode 2 only collects counts; mode 3 blocks known traps but counts no more.
        Assert.Equal(new TrapStatus(3, true, false), _box.FindTrap(Cfg(("DoPenaltyMakeTraps", "2"), ("PenaltyMakeTraps", "3")), "nobody@example.com"));
        var mode3 = Cfg(("DoPenaltyMakeTraps", "3"), ("PenaltyMakeTraps", "3"));
        Assert.Equal(0, _box.RecordInvalidRecipient(mode3, "nobody@example.com", Spammer));
        Assert.True(_box.FindTrap(mode3, "nobody@example.com").ActsAsTrap);
        Assert.Equal(TrapStatus.None, _box.FindTrap(Cfg(("DoPenaltyMakeTraps", "0")), "nobody@example.com"));

        Assert.Equal(0, _box.RecordInvalidRecipient(cfg, "postmaster@example.com", Spammer));
        Assert.Equal(0, _box.RecordInvalidRecipient(Cfg(("DoPenaltyMakeTraps", "1"), ("noPB", "203.0.113.7")), "x@example.com", Spammer));
    }

    [Fact]
    public void Trap_counters_below_the_limit_expire_after_PBTrapInterval_days_and_traps_stay()
    {
        var cfg = Cfg(("DoPenaltyMakeTraps", "1"), ("PenaltyMakeTraps", "2"), ("PBTrapInterval", "3"));
        _box.RecordInvalidRecipient(cfg, "once@example.com", Spammer);
        _box.RecordInvalidRecipient(cfg, "trap@example.com", Spammer);
        _box.RecordInvalidRecipient(cfg, "trap@example.com", Spammer);
        _clock.Advance(TimeSpan.FromDays(3));
        Assert.Equal(TrapStatus.None, _box.FindTrap(cfg, "once@example.com"));
        Assert.True(_box.FindTrap(cfg, "trap@example.com").IsTrap);
        var c = _box.Cleanup(cfg);
        Assert.Equal((2, 1), (c.TrapsBefore, c.TrapsDeleted));
        Assert.Equal("trap@example.com", Assert.Single(_box.TrapEntries(cfg)).Address);
    }

    // ------------------------------------------------------------ cleanup, removal, enumeration

    [Fact]
    public void Cleanup_counts_what_it_removed()
    {
        var cfg = Cfg(("PenaltyLimit", "50"), ("PenaltyDuration", "60"), ("whiteListedIPs", "192.0.2.50"));
        _box.AddBlack(cfg, Spammer, 10, "low");                     // expires after the duration
        _box.AddBlack(cfg, Other, 80, "high");                      // stays
        Black.Set("10.0.0.1", $"{T0} {T0} 1 90 10.0.0.1 private");  // private rows always go
        Black.Set("192.0.2.50", $"{T0} {T0} 1 90 192.0.2.50 x");    // whitelisted IPs go
        Black.Set("192.0.2.60", "garbage");                         // unreadable rows go
        Black.Set("192.0.2.70", $"{T0} {T0} 1 10 192.0.2.70 GLOBALPB"); // global rows follow globalBlackExpiration
        _clock.Advance(TimeSpan.FromMinutes(61));
        var c = _box.Cleanup(cfg);
        Assert.Equal((6, 4), (c.BlackBefore, c.BlackDeleted));
        Assert.Equal(["192.0.2.70", "198.51.100.20"], Black.Scan().Select(kv => kv.Key).Order().ToArray());
        Assert.Contains("PenaltyBox: cleaning BlackBox (PBBlack) finished: IP's before=6, deleted=4", c.LogLines());

        _clock.Advance(TimeSpan.FromHours(48));
        Assert.Equal(2, _box.Cleanup(cfg).BlackDeleted);
    }

    [Fact]
    public void Rows_can_be_listed_and_removed_by_key()
    {
        var cfg = Cfg();
        _box.AddBlack(cfg, Spammer, 10, "a");
        _box.AddWhite(cfg, Other, "w");
        var black = Assert.Single(_box.BlackEntries(cfg));
        Assert.Equal(("203.0.113.7", 10.0, false), (black.Key, black.Record.Score, black.IsNetwork));
        Assert.Equal("198.51.100.20", Assert.Single(_box.WhiteEntries(cfg)).Key);
        Assert.True(_box.Remove(PenaltyBoxTable.Black, "203.0.113.7"));
        Assert.True(_box.Remove(PenaltyBoxTable.White, "198.51.100.20"));
        Assert.False(_box.Remove(PenaltyBoxTable.Trap, "nobody@example.com"));
        Assert.Empty(_box.BlackEntries(cfg));
        Assert.Empty(_box.WhiteEntries(cfg));
    }

    [Fact]
    public void Concurrent_sessions_lose_no_score()
    {
        var cfg = Cfg(("PenaltyUseNetblocks", "1"), ("PenaltyDuration", "600"));
        const int Threads = 8, Adds = 400;
        var ips = Enumerable.Range(1, Threads).Select(i => IPAddress.Parse($"203.0.113.{i}")).ToArray();
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            for (int i = 0; i < Adds; i++)
            {
                _box.AddBlack(cfg, ips[t], 1, "r");
                _box.AddBlack(cfg, Other, 1, "r");
                _ = _box.Lookup(cfg, ips[(t + 1) % Threads]);
                _ = _box.CheckDelayIp(cfg, ips[t]);
            }
        });
        Assert.Equal(Threads * Adds, _box.BlackTotal(cfg, Spammer));
        Assert.Equal(Threads * Adds, _box.Lookup(cfg, Other).Black!.Count);
    }
    // ------------------------------------------------------------ connection penalties (no message)

    [Fact]
    public void A_connection_penalty_scores_the_ip_with_the_valences_ip_part()
    {
        var engine = new DecisionEngine(_box, new FakeAddressReputation());
        engine.AddConnectionPenalty(Cfg(), Spammer, "iplValencePB", "LimitingIP");
        Assert.Equal(5, _box.BlackTotal(Cfg(), Spammer));   // iplValencePB default
        Black.TryGetValue("203.0.113.7", out var v);
        Assert.EndsWith(" LimitingIP", v);

        engine.AddConnectionPenalty(Cfg(("iplValencePB", "3|7")), Spammer, "iplValencePB", "LimitingIP");
        Assert.Equal(12, _box.BlackTotal(Cfg(), Spammer));
    }

    [Fact]
    public void A_connection_penalty_respects_noPB_the_whitebox_private_ips_and_DoPenalty_off()
    {
        var engine = new DecisionEngine(_box, new FakeAddressReputation());
        engine.AddConnectionPenalty(Cfg(("noPB", "203.0.113.7")), Spammer, "iplValencePB", "LimitingIP");
        engine.AddConnectionPenalty(Cfg(), IPAddress.Parse("10.1.2.3"), "iplValencePB", "LimitingIP");
        engine.AddConnectionPenalty(Cfg(("DoPenalty", "0")), Other, "iplValencePB", "LimitingIP");
        _box.AddWhite(Cfg(), Neighbour, "good");
        engine.AddConnectionPenalty(Cfg(), Neighbour, "iplValencePB", "LimitingIP");
        Assert.Equal(0, Black.Count);
    }
}

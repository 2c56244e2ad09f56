using System.Net;
using Assp.Config.Files;
using Assp.Config.Regexes;
using Assp.Config.Registry;

namespace Assp.Config.Tests;

/// <summary>A real-world assp.cfg with list files, includes, groups and weighted regexes.</summary>
public class RealisticConfigTests
{
    private static ConfigSnapshot Load(string dir) =>
        new ConfigLoader(OptionRegistry.Default) { HostResolver = _ => [] }.Load(new ConfigSource(dir));

    [Fact]
    public void Loads_with_zero_errors()
    {
        using var dir = new TestPaths.TempDir().CopyFrom("realistic");
        var cfg = Load(dir.Path);
        var errors = cfg.Issues.Where(i => i.Severity == IssueSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        // The unknown name is reported as a warning, not lost.
        Assert.Contains(cfg.Issues, i => i.Option == "myOldCustomSetting" && i.Severity == IssueSeverity.Warning && i.Line > 0);
        Assert.Equal("keep me", cfg.UnknownEntries["myOldCustomSetting"]);
        // The reference's misspelling was read as the real option.
        Assert.Contains(cfg.Issues, i => i.Option == "DoHelloWL" && i.Message.Contains("DoHeloWL"));
        Assert.False(cfg.GetBool("DoHeloWL"));
    }

    [Fact]
    public void Values_of_every_kind_reach_the_typed_accessors()
    {
        using var dir = new TestPaths.TempDir().CopyFrom("realistic");
        var cfg = Load(dir.Path);
        Assert.Equal("mx1.example.com", cfg["myName"]);
        Assert.Equal(5, cfg.GetInt("MaxErrors"));
        Assert.Equal(3, cfg.GetChoice("ValidateSPF"));
        Assert.True(cfg.GetBool("EnableDelaying"));
        Assert.Equal((15.0, 10.0), cfg.GetValence("spfValencePB"));
        Assert.Equal((35.0, 25.0), cfg.GetValence("rblValencePB"));
        // Sections beyond the first ones carry changed values too.
        var changedSections = cfg.All().Where(x => x.Value != x.Option.Default).Select(x => x.Option.Section).Distinct().Count();
        Assert.True(changedSections >= 35, $"only {changedSections} sections changed");
    }

    [Fact]
    public void List_files_includes_and_groups_are_expanded()
    {
        using var dir = new TestPaths.TempDir().CopyFrom("realistic");
        var cfg = Load(dir.Path);
        var domains = cfg.GetListEntries("localDomains").Select(e => e.Text).ToList();
        Assert.Equal(["example.com", "example.org", "example.net", "shop.example.com"], domains);
        Assert.Equal("files/inc/extra-domains.txt", cfg.GetListEntries("localDomains")[^1].File);

        var deny = cfg.GetIpList("denySMTPConnectionsFrom");
        Assert.True(deny.Contains("203.0.113.66"));
        Assert.True(deny.Contains("100.64.7.7"));
        Assert.Equal("repeated dictionary attacks", deny.Match(IPAddress.Parse("192.0.2.201"))!.Value.Comment);
        Assert.False(deny.Contains("192.0.2.208"));

        var admins = cfg.GetAddressList("EmailAdmins");
        Assert.True(admins.Contains("postmaster@example.com"));
        Assert.True(admins.Contains("ADMIN@example.com"));
        Assert.False(admins.Contains("someone@example.com"));

        var npIps = cfg.GetIpList("noProcessingIPs");
        Assert.True(npIps.Contains("192.0.2.130"));      // from [ipgroup]
        Assert.Equal("Nagios probe", npIps.Match(IPAddress.Parse("192.0.2.55"))!.Value.Comment);
        Assert.False(npIps.Contains("203.0.113.9"));      // scoped entry needs a recipient
        Assert.True(npIps.Contains("203.0.113.9", "bob@example.com"));
        Assert.False(npIps.Contains("203.0.113.9", "bob@other.example"));

        var white = cfg.GetDomainList("whiteListedDomains");
        Assert.True(white.Matches("alerts@bank.example"));
        Assert.True(white.Matches("x@mail.payroll-service.example"));
        Assert.False(white.Matches("x@payroll-service.example"));
        Assert.True(white.Matches("anna@partner.example", "boss@example.com"));
        Assert.False(white.Matches("anna@partner.example", "boss@example.net"));
        Assert.True(white.Matches("bill@vendor-two.example", "postmaster@example.com"));   // groups on both sides
    }

    [Fact]
    public void Weighted_regexes_carry_weights_and_flags()
    {
        using var dir = new TestPaths.TempDir().CopyFrom("realistic");
        var cfg = Load(dir.Path);
        var helo = cfg.GetWeightedRegex("invalidFormatHeloRe");
        Assert.Equal(3, helo.Count);
        Assert.Equal(new NwliFlags(NwliUse.Never, NwliUse.Never, NwliUse.Default, NwliUse.Default), helo.FileDefaultFlags);
        var dyn = helo.Entries[2];
        Assert.Equal(3, dyn.Weight);
        Assert.Equal(NwliUse.Never, dyn.Flags.L);
        Assert.Equal(NwliUse.Only, dyn.Flags.I);
        Assert.Equal(NwliUse.Never, dyn.Flags.N);     // from the file default
        Assert.Equal(2, Assert.Single(helo.Matches("192.0.2.1")).Weight);

        var black = cfg.GetWeightedRegex("blackRe");
        var hits = black.Matches("Cheap   MEDS and casino");
        Assert.Equal([25.0, 3.5], hits.Select(h => h.Weight).ToArray());
        // blackRe's casino entry never scans whitelisted mail.
        var wl = black.Matches("casino", new MailClasses(false, true, false, false), _ => true);
        Assert.Empty(wl);

        var bombs = cfg.GetWeightedRegex("bombRe");
        Assert.Equal(4, bombs.Count);
        Assert.Contains(bombs.Matches("see Phishing. now"), h => h.Weight == 4.5);
    }

    [Fact]
    public void Saving_one_change_rewrites_only_that_line()
    {
        using var dir = new TestPaths.TempDir().CopyFrom("realistic");
        var path = Path.Combine(dir.Path, "assp.cfg");
        var before = File.ReadAllLines(path);
        var originalBytes = File.ReadAllBytes(path);
        var file = AsspConfigFile.Load(path);
        Assert.Equal(originalBytes, file.ToBytes());
        file.Set("MaxErrors", "7");
        file.Save(path);
        var after = File.ReadAllLines(path);
        Assert.Equal(before.Length, after.Length);
        var diff = before.Zip(after).Where(p => p.First != p.Second).ToList();
        Assert.Equal(("MaxErrors:=5", "MaxErrors:=7"), Assert.Single(diff));
    }
}

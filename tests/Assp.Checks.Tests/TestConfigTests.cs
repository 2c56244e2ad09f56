namespace Assp.Checks.Tests;

public class TestConfigTests
{
    [Fact]
    public void OverridesAndListFilesReachTheSnapshot()
    {
        var cfg = TestConfig.Create(new Dictionary<string, string> { ["files/ipnp.txt"] = "10.1.2.0/24 # office\n" },
            ("PenaltyLimit", "70"));
        Assert.Equal(70, cfg.GetInt("PenaltyLimit"));
        Assert.True(cfg.GetIpList("noProcessingIPs").Contains(System.Net.IPAddress.Parse("10.1.2.3")));
    }
}

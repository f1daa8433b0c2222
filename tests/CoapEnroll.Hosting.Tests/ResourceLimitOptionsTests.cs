using Microsoft.Extensions.Configuration;

namespace CoapEnroll.Hosting.Tests;

/// <summary>The DTLS connection and handshake bounds of serve: bound from the Dtls section, and a value below 1 is named.</summary>
public sealed class ResourceLimitOptionsTests
{
    [Fact]
    public void The_Dtls_bounds_bind_from_configuration_with_the_library_defaults()
    {
        var defaults = new DtlsListenOptions();
        Assert.Equal(new CoapEnroll.Dtls.DtlsServerOptions().MaxHandshakesPerAddress, defaults.MaxHandshakesPerAddress);
        Assert.Null(defaults.Validate());

        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dtls:MaxHandshakes"] = "50",
            ["Dtls:MaxHandshakesPerAddress"] = "5",
            ["Dtls:MaxConnections"] = "500",
        }).Build();
        DtlsListenOptions bound = configuration.GetSection(DtlsListenOptions.SectionName).Get<DtlsListenOptions>()!;
        Assert.Equal((50, 5, 500), (bound.MaxHandshakes, bound.MaxHandshakesPerAddress, bound.MaxConnections));
    }

    [Theory]
    [InlineData("MaxHandshakes")]
    [InlineData("MaxHandshakesPerAddress")]
    [InlineData("MaxConnections")]
    public void A_bound_below_1_is_refused_naming_its_key(string key)
    {
        var options = new DtlsListenOptions();
        typeof(DtlsListenOptions).GetProperty(key)!.SetValue(options, 0);
        Assert.Equal($"Dtls:{key} 0 must be at least 1.", options.Validate());
    }
}

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
        Assert.Equal((100_000, 1000), (defaults.MaxConnections, defaults.MaxConnectionsPerAddress));
        Assert.Null(defaults.Validate());

        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dtls:MaxHandshakes"] = "50",
            ["Dtls:MaxHandshakesPerAddress"] = "5",
            ["Dtls:MaxConnections"] = "500",
            ["Dtls:MaxConnectionsPerAddress"] = "7",
        }).Build();
        DtlsListenOptions bound = configuration.GetSection(DtlsListenOptions.SectionName).Get<DtlsListenOptions>()!;
        Assert.Equal((50, 5, 500, 7), (bound.MaxHandshakes, bound.MaxHandshakesPerAddress, bound.MaxConnections, bound.MaxConnectionsPerAddress));
    }

    [Theory]
    [InlineData("MaxHandshakes")]
    [InlineData("MaxHandshakesPerAddress")]
    [InlineData("MaxConnections")]
    [InlineData("MaxConnectionsPerAddress")]
    public void A_bound_below_1_is_refused_naming_its_key(string key)
    {
        var options = new DtlsListenOptions();
        typeof(DtlsListenOptions).GetProperty(key)!.SetValue(options, 0);
        Assert.Equal($"Dtls:{key} 0 must be at least 1.", options.Validate());
    }

    [Theory]
    [InlineData("01", "01")]
    [InlineData("0xA702", "A702")]
    [InlineData(null, "")]
    public void A_connection_id_prefix_of_up_to_two_bytes_in_hex_is_taken(string? text, string bytes)
    {
        var options = new DtlsListenOptions { ConnectionIdPrefix = text };
        Assert.Null(options.Validate());
        Assert.Equal(bytes, Convert.ToHexString(options.ConnectionIdPrefixBytes()));
    }

    [Theory]
    [InlineData("010203")]
    [InlineData("1")]
    [InlineData("node-1")]
    public void A_connection_id_prefix_that_is_not_one_or_two_bytes_in_hex_is_refused(string text)
    {
        Assert.Equal($"Dtls:ConnectionIdPrefix '{text}' is not 1 to 2 bytes in hex (e.g. 01).", new DtlsListenOptions { ConnectionIdPrefix = text }.Validate());
    }
}

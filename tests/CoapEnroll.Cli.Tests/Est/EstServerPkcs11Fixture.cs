namespace CoapEnroll.Cli.Tests.Est;

/// <summary>The EST interop server with its issuing CA key generated on a SoftHSM2 token by <c>coapenroll ca init</c>.</summary>
public sealed class EstServerPkcs11Fixture : EstServerFixture
{
    protected override Task<EstServer> StartAsync(IDictionary<string, string?> settings) => EstServer.StartOnTokenAsync(settings);
}

using System.Text;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary>
/// Options <c>serve</c> must not accept and ignore, sent by <c>coap-client-notls</c> with <c>-O number,value</c>:
/// OSCORE (RFC 8613, not done here) is 4.02 (RFC 7252 §5.4.1), Proxy-Uri and Proxy-Scheme are 5.05 (§5.7.2: nothing
/// in the product is a forward proxy), and a failed If-Match or If-None-Match on the PUT resource <c>/test</c> is
/// 4.12 (§5.10.8, §5.10.9) and leaves it unchanged.
/// </summary>
public class LibCoapOptionRefusalInteropTests
{
    private const string Original = "CoapEnroll diagnostic resource";

    private static string Both(ProcessResult result) => result.StandardOutput + result.StandardError;

    [Fact]
    [Trait("Needs", "core")]
    public async Task OscoreOption_Is402NamingIt()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await LibCoap.RunClientAsync(10, "-m", "get", "-O", "9,0x0914", server.Uri("/test"));

        Assert.True(Both(result).Contains("4.02", StringComparison.Ordinal) && Both(result).Contains("OSCORE", StringComparison.Ordinal), result.Describe());
        Assert.DoesNotContain(Original, Both(result), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task ProxyUriOption_Is505()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await LibCoap.RunClientAsync(10, "-m", "get", "-O", "35,coap://192.0.2.1/test", server.Uri("/test"));

        Assert.True(Both(result).Contains("5.05", StringComparison.Ordinal), result.Describe());
        Assert.DoesNotContain(Original, Both(result), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task UsedAsForwardProxy_Is505()
    {
        await using var server = await InProcessServer.StartAsync();

        // -P: libcoap sends the request to serve as its proxy, with the target in Proxy-Uri (RFC 7252 §5.7.2).
        // (Proxy-Scheme alone is covered by the unit tests: with it libcoap sends to the Uri-Host's default port.)
        var result = await LibCoap.RunClientAsync(10, "-m", "get", "-P", $"coap://127.0.0.1:{server.Port}", "coap://192.0.2.1/test");

        Assert.True(Both(result).Contains("5.05", StringComparison.Ordinal), result.Describe());
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task Put_IfNoneMatch_OnExistingResource_Is412AndChangesNothing()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await LibCoap.RunClientAsync(10, "-m", "put", "-O", "5", "-e", "overwritten", server.Uri("/test"));

        Assert.True(Both(result).Contains("4.12", StringComparison.Ordinal), result.Describe());
        Assert.Contains(Original, Encoding.UTF8.GetString(server.Diagnostics.TestBody!.Payload.Span), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task Put_IfMatchWithAValue_OnResourceWithoutETag_Is412AndChangesNothing()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await LibCoap.RunClientAsync(10, "-m", "put", "-O", "1,0xa1b2", "-e", "overwritten", server.Uri("/test"));

        Assert.True(Both(result).Contains("4.12", StringComparison.Ordinal), result.Describe());
        Assert.Contains(Original, Encoding.UTF8.GetString(server.Diagnostics.TestBody!.Payload.Span), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task Put_IfNoneMatch_AfterDelete_Creates()
    {
        await using var server = await InProcessServer.StartAsync();

        var delete = await LibCoap.RunClientAsync(10, "-m", "delete", server.Uri("/test"));
        var put = await LibCoap.RunClientAsync(10, "-m", "put", "-O", "5", "-e", "created", server.Uri("/test"));

        Assert.True(delete.ExitCode == 0, delete.Describe());
        Assert.True(put.ExitCode == 0 && !Both(put).Contains("4.12", StringComparison.Ordinal), put.Describe());
        Assert.Equal("created", Encoding.UTF8.GetString(server.Diagnostics.TestBody!.Payload.Span));
    }
}

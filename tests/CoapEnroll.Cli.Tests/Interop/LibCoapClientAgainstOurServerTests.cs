using System.Globalization;
using System.Text;
using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary>
/// <c>coap-client-notls</c> (libcoap 4.3) against the host <c>coapenroll serve</c> runs, started
/// in-process on an ephemeral port. Traits name the library feature each test depends on.
/// </summary>
public class LibCoapClientAgainstOurServerTests
{
    [Fact]
    [Trait("Needs", "core")]
    public async Task Get_Test_ReturnsStoredText()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await LibCoap.RunClientAsync(10, "-m", "get", server.Uri("/test"));

        Assert.True(result.ExitCode == 0 && result.StandardOutput.Contains("CoapEnroll diagnostic resource", StringComparison.Ordinal), result.Describe());
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task PutThenGet_RoundTripsSmallBody()
    {
        await using var server = await InProcessServer.StartAsync();

        var put = await LibCoap.RunClientAsync(10, "-m", "put", "-t", "0", "-e", "hello from libcoap", server.Uri("/test"));
        var get = await LibCoap.RunClientAsync(10, "-m", "get", server.Uri("/test"));

        Assert.True(put.ExitCode == 0, put.Describe());
        Assert.Equal("hello from libcoap", Encoding.UTF8.GetString(server.Diagnostics.TestBody!.Payload.Span));
        Assert.True(get.StandardOutput.Contains("hello from libcoap", StringComparison.Ordinal), get.Describe());
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task Get_LostFirstDatagram_IsRetransmittedAndCompletes()
    {
        await using var server = await InProcessServer.StartAsync();

        // -l 1: libcoap drops its first datagram, so the request only arrives as a retransmission.
        var result = await LibCoap.RunClientAsync(30, "-l", "1", "-m", "get", server.Uri("/test"));

        Assert.True(result.ExitCode == 0 && result.StandardOutput.Contains("CoapEnroll diagnostic resource", StringComparison.Ordinal), result.Describe());
    }

    [Theory]
    [Trait("Needs", "link-format")]
    [Trait("Needs", "block-wise")]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(64)]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    [InlineData(1024)]
    public async Task WellKnownCore_AtEveryBlockSize_ListsDiagnosticResources(int blockSize)
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await LibCoap.RunClientAsync(30, "-m", "get", "-b", blockSize.ToString(CultureInfo.InvariantCulture), server.Uri("/.well-known/core"));

        Assert.True(result.ExitCode == 0, result.Describe());
        foreach (string link in new[] { "</test>", "</large>", "</obs>" })
        {
            Assert.True(result.StandardOutput.Contains(link, StringComparison.Ordinal), $"{link} missing from /.well-known/core at -b {blockSize}.{Environment.NewLine}{result.Describe()}");
        }
    }

    [Theory]
    [Trait("Needs", "block-wise")]
    [InlineData(16)]
    [InlineData(1024)]
    public async Task Get_Large_Block2_ReturnsWholeBody(int blockSize)
    {
        await using var server = await InProcessServer.StartAsync();
        string output = Path.Combine(server.DataDirectory, "large.out");

        var result = await LibCoap.RunClientAsync(30, "-m", "get", "-b", blockSize.ToString(CultureInfo.InvariantCulture), "-o", output, server.Uri("/large"));

        Assert.True(result.ExitCode == 0 && File.Exists(output), result.Describe());
        byte[] received = await File.ReadAllBytesAsync(output);
        Assert.True(DiagnosticResources.LargeBody.Span.SequenceEqual(received),
            $"-b {blockSize}: got {new FileInfo(output).Length} bytes, expected the {DiagnosticResources.LargeBodySize}-byte /large body.{Environment.NewLine}{result.Describe()}");
    }

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task Post_4KB_Block1_At16ByteBlocks_ServerReceivesWholeBody()
    {
        await using var server = await InProcessServer.StartAsync();
        byte[] body = new byte[4096];
        new Random(7252).NextBytes(body);
        string file = Path.Combine(server.DataDirectory, "post.bin");
        await File.WriteAllBytesAsync(file, body);

        var result = await LibCoap.RunClientAsync(60, "-m", "post", "-b", "16", "-t", "42", "-f", file, server.Uri("/test"));

        Assert.True(result.ExitCode == 0, result.Describe());
        var received = server.Diagnostics.LastPost;
        Assert.True(received is not null, $"The server's /test handler saw no POST.{Environment.NewLine}{result.Describe()}");
        Assert.True(received.Payload.Span.SequenceEqual(body),
            $"The /test handler received {received.Payload.Length} bytes, expected the whole 4096-byte body reassembled from 16-byte Block1 blocks.{Environment.NewLine}{result.Describe()}");
        Assert.Equal(CoapContentFormat.OctetStream, received.ContentFormat);
    }

    [Fact]
    [Trait("Needs", "observe")]
    public async Task Observe_Obs_DeliversSeveralNotifications()
    {
        await using var server = await InProcessServer.StartAsync();

        // -s 7: observe for 7 s; -w: a newline after each notification's payload. /obs changes every
        // second, but without an RTT estimate the server sends at most one NON notification per 3 s
        // (RFC 7641 §4.5.1): the response at 0 s, notifications by 1 s and by 4 s.
        var result = await LibCoap.RunClientAsync(20, "-m", "get", "-s", "7", "-w", server.Uri("/obs"));

        string[] values = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(result.ExitCode == 0 && values.Distinct().Count() >= 3,
            $"Expected the first response and at least 2 notifications with distinct times, got {values.Length} value(s).{Environment.NewLine}{result.Describe()}");
    }

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task Get_Large_With20PercentLoss_StillCompletes()
    {
        await using var server = await InProcessServer.StartAsync();
        string output = Path.Combine(server.DataDirectory, "large-lossy.out");

        // -l 20%: libcoap randomly drops a fifth of the datagrams it sends; retransmissions must recover.
        var result = await LibCoap.RunClientAsync(120, "-m", "get", "-l", "20%", "-b", "256", "-o", output, server.Uri("/large"));

        Assert.True(result.ExitCode == 0 && File.Exists(output), result.Describe());
        byte[] received = await File.ReadAllBytesAsync(output);
        Assert.True(DiagnosticResources.LargeBody.Span.SequenceEqual(received),
            $"Got {new FileInfo(output).Length} bytes, expected the {DiagnosticResources.LargeBodySize}-byte /large body.{Environment.NewLine}{result.Describe()}");
    }
}

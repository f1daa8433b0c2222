using System.Net;
using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;
using CoapEnroll.Transport;

namespace CoapEnroll.Cli.Tests;

/// <summary><c>coapenroll coap …</c> against the server <c>serve</c> runs, in-process.</summary>
public class CoapCommandTests
{
    [Fact]
    public async Task Get_PrintsCodeOptionsAndTextPayload()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await CliRunner.RunAsync("coap", "get", server.Uri("/test"));

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.StartsWith("2.05 Content\n  Content-Format: text/plain;charset=utf-8 (0)\n\nCoapEnroll diagnostic resource", result.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Error);
    }

    [Fact]
    public async Task PutThenGet_RoundTripsPayloadAndContentFormat()
    {
        await using var server = await InProcessServer.StartAsync();

        var put = await CliRunner.RunAsync("coap", "put", server.Uri("/test"), "--payload", "{\"hello\":1}", "--content-format", "json");
        var get = await CliRunner.RunAsync("coap", "get", server.Uri("/test"), "--non");

        Assert.True(put.ExitCode == ExitCodes.Success, put.Describe());
        Assert.StartsWith("2.04 Changed", put.Output, StringComparison.Ordinal);
        Assert.True(get.ExitCode == ExitCodes.Success, get.Describe());
        Assert.Contains("Content-Format: application/json (50)", get.Output, StringComparison.Ordinal);
        Assert.Contains("{\"hello\":1}", get.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostFromFile_IsEchoedAndRecorded()
    {
        await using var server = await InProcessServer.StartAsync();
        string file = Path.Combine(server.DataDirectory, "payload.bin");
        byte[] body = [.. Enumerable.Range(0, 200).Select(i => (byte)i)];
        await File.WriteAllBytesAsync(file, body);

        var result = await CliRunner.RunAsync("coap", "post", server.Uri("/test"), "--payload-file", file, "-t", "42");

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.Contains("00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|", result.Output, StringComparison.Ordinal);
        Assert.Equal(body, server.Diagnostics.LastPost!.Payload.ToArray());
        Assert.Equal(CoapContentFormat.OctetStream, server.Diagnostics.LastPost.ContentFormat);
    }

    [Fact]
    public async Task DeleteThenGet_Exits4With404()
    {
        await using var server = await InProcessServer.StartAsync();

        var delete = await CliRunner.RunAsync("coap", "delete", server.Uri("/test"));
        var get = await CliRunner.RunAsync("coap", "get", server.Uri("/test"));

        Assert.True(delete.ExitCode == ExitCodes.Success, delete.Describe());
        Assert.StartsWith("2.02 Deleted", delete.Output, StringComparison.Ordinal);
        Assert.True(get.ExitCode == ExitCodes.ClientError, get.Describe());
        Assert.StartsWith("4.04 Not Found", get.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_OutWritesRawPayload()
    {
        await using var server = await InProcessServer.StartAsync();
        string file = Path.Combine(server.DataDirectory, "large.txt");

        var result = await CliRunner.RunAsync("coap", "get", server.Uri("/large"), "--out", file);

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.Contains($"{DiagnosticResources.LargeBodySize} bytes of payload written to {file}", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("0000 ABCD", result.Output, StringComparison.Ordinal);
        Assert.Equal(DiagnosticResources.LargeBody.ToArray(), await File.ReadAllBytesAsync(file));
    }

    [Fact]
    public async Task Get_ObsChangesOverTime()
    {
        await using var server = await InProcessServer.StartAsync();

        var first = await CliRunner.RunAsync("coap", "get", server.Uri("/obs"));
        await Task.Delay(1100);
        var second = await CliRunner.RunAsync("coap", "get", server.Uri("/obs"));

        Assert.True(first.ExitCode == ExitCodes.Success, first.Describe());
        Assert.Contains("Max-Age: 1", first.Output, StringComparison.Ordinal);
        Assert.NotEqual(first.Output, second.Output);
    }

    [Fact]
    public async Task DiagnosticResourcesDisabled_Give404()
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?> { ["Coap:DiagnosticResources"] = "false" });

        var result = await CliRunner.RunAsync("coap", "get", server.Uri("/test"));

        Assert.True(result.ExitCode == ExitCodes.ClientError, result.Describe());
    }

    [Fact]
    public async Task ServerError_Exits5_AndAcceptIsSent()
    {
        await using var server = new CoapServer();
        server.MapGet("/fail", (ctx, _) => ValueTask.FromResult(
            new CoapMessage { Code = CoapCode.ServiceUnavailable }.WithPayload($"accept={ctx.Request.Accept}")));
        var endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        int port = ((IPEndPoint)endpoint.LocalEndPoint).Port;

        var result = await CliRunner.RunAsync("coap", "get", $"coap://127.0.0.1:{port}/fail", "--accept", "cbor");

        Assert.True(result.ExitCode == ExitCodes.ServerError, result.Describe());
        Assert.StartsWith("5.03 Service Unavailable", result.Output, StringComparison.Ordinal);
        Assert.Contains("accept=60", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verbose_PrintsRequestToStderr()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await CliRunner.RunAsync("coap", "get", server.Uri("/test?x=1"), "-v");

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.Contains("> CON GET to 127.0.0.1:", result.Error, StringComparison.Ordinal);
        Assert.Contains(">   Uri-Path: test", result.Error, StringComparison.Ordinal);
        Assert.Contains(">   Uri-Query: x=1", result.Error, StringComparison.Ordinal);
    }
}

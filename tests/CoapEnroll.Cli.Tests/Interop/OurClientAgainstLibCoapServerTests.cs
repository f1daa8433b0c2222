using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary><c>coapenroll coap …</c> against <c>coap-server-notls</c> (libcoap 4.3).</summary>
public class OurClientAgainstLibCoapServerTests
{
    [Fact]
    [Trait("Needs", "core")]
    public async Task Get_Root_PrintsLibCoapBanner()
    {
        await using var server = await LibCoapServer.StartAsync();

        var result = await CliRunner.RunAsync("coap", "get", server.Uri("/"), "--timeout", "10");

        Assert.True(result.ExitCode == ExitCodes.Success, $"{result.Describe()}{Environment.NewLine}{server.Output}");
        Assert.StartsWith("2.05 Content", result.Output, StringComparison.Ordinal);
        Assert.Contains("This is a test server made with libcoap", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task Get_Missing_Exits4()
    {
        await using var server = await LibCoapServer.StartAsync();

        var result = await CliRunner.RunAsync("coap", "get", server.Uri("/no-such-resource"), "--timeout", "10");

        Assert.True(result.ExitCode == ExitCodes.ClientError, $"{result.Describe()}{Environment.NewLine}{server.Output}");
        Assert.StartsWith("4.04 Not Found", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task PutThenGet_SmallExampleData()
    {
        await using var server = await LibCoapServer.StartAsync();

        var put = await CliRunner.RunAsync("coap", "put", server.Uri("/example_data"), "--payload", "small body", "-t", "text", "--timeout", "10");
        var get = await CliRunner.RunAsync("coap", "get", server.Uri("/example_data"), "--timeout", "10");

        Assert.True(put.ExitCode == ExitCodes.Success, $"{put.Describe()}{Environment.NewLine}{server.Output}");
        Assert.True(get.ExitCode == ExitCodes.Success && get.Output.Contains("small body", StringComparison.Ordinal), $"{get.Describe()}{Environment.NewLine}{server.Output}");
    }

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task PutThenGet_ExampleDataLargerThanOneBlock()
    {
        await using var server = await LibCoapServer.StartAsync();
        string dir = Path.Combine(Path.GetTempPath(), "coapenroll-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // 3000 bytes of text: more than one 1024-byte block and more than one datagram.
            byte[] body = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 300).Select(i => $"line {i:D4}\n")));
            string input = Path.Combine(dir, "in.txt");
            string output = Path.Combine(dir, "out.txt");
            await File.WriteAllBytesAsync(input, body);

            var put = await CliRunner.RunAsync("coap", "put", server.Uri("/example_data"), "--payload-file", input, "-t", "text", "--block-size", "256", "--timeout", "30");
            var get = await CliRunner.RunAsync("coap", "get", server.Uri("/example_data"), "--block-size", "256", "--out", output, "--timeout", "30");

            Assert.True(put.ExitCode == ExitCodes.Success, $"{put.Describe()}{Environment.NewLine}{server.Output}");
            Assert.True(get.ExitCode == ExitCodes.Success && File.Exists(output), $"{get.Describe()}{Environment.NewLine}{server.Output}");
            byte[] received = await File.ReadAllBytesAsync(output);
            Assert.True(received.AsSpan().SequenceEqual(body),
                $"GET returned {received.Length} bytes, expected the {body.Length} bytes PUT.{Environment.NewLine}{get.Describe()}{Environment.NewLine}{server.Output}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [Trait("Needs", "core")]
    public async Task Observe_Time_PrintsSeveralNotifications()
    {
        await using var server = await LibCoapServer.StartAsync();

        // coap-server-notls updates /time every second once it is observed.
        var result = await CliRunner.RunAsync("coap", "get", server.Uri("/time"), "--observe", "4", "--timeout", "10");

        int notifications = result.Output.Split("2.05 Content").Length - 1;
        Assert.True(result.ExitCode == ExitCodes.Success && notifications >= 3 && result.Output.Contains("Observe: ", StringComparison.Ordinal),
            $"Expected the response and at least 2 notifications, got {notifications}.{Environment.NewLine}{result.Describe()}{Environment.NewLine}{server.Output}");
    }
}

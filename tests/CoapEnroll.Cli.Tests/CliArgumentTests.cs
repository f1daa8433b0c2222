using System.Net;
using System.Net.Sockets;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests;

/// <summary>Bad input ends with one line on stderr and exit code 2, before anything is sent.</summary>
public class CliArgumentTests
{
    public static TheoryData<string[], string> UsageErrors => new()
    {
        { [], "Required command" },
        { ["frobnicate"], "frobnicate" },
        { ["coap", "get"], "Required argument missing" },
        { ["coap", "get", "coap://127.0.0.1/x", "--frob"], "--frob" },
        { ["coap", "get", "ftp://127.0.0.1/x"], "Invalid CoAP URI" },
        { ["coap", "get", "not a uri"], "Invalid CoAP URI" },
        { ["coap", "get", "coap://[::1/x"], "Invalid CoAP URI" },
        { ["coap", "get", "coap://127.0.0.1/x#frag"], "a fragment" },
        { ["coap", "get", "coaps://127.0.0.1/x"], "coaps:// needs --trust FILE" },
        { ["coap", "get", "coap://127.0.0.1/x", "--trust", "/etc/hostname"], "--trust applies to coaps:// URIs only" },
        { ["coap", "get", "coap://127.0.0.1/x", "--psk-key", "00"], "--psk-key applies to coaps:// URIs only" },
        { ["coap", "get", "coaps://127.0.0.1/x", "--trust", "/nonexistent/trust.pem"], "/nonexistent/trust.pem" },
        { ["coap", "get", "coaps://127.0.0.1/x", "--trust", "/etc/hostname"], "/etc/hostname" },
        { ["coap", "get", "coaps://127.0.0.1/x", "--psk-identity", "dev"], "--psk-identity and --psk-key go together" },
        { ["coap", "get", "coaps://127.0.0.1/x", "--psk-identity", "dev", "--psk-key", "xyz"], "--psk-key" },
        { ["coap", "get", "coaps://127.0.0.1/x", "--trust", "/etc/hostname", "--cert", "/etc/hostname"], "--cert and --key go together" },
        { ["coap", "get", "coaps://127.0.0.1/x", "--psk-identity", "dev", "--psk-key", "00", "--cert", "a", "--key", "b"], "--cert needs --trust" },
        { ["coap", "get", "coap://127.0.0.1/x", "--block-size", "17"], "--block-size 17" },
        { ["coap", "get", "coap://127.0.0.1/x", "--block-size", "2048"], "--block-size 2048" },
        { ["coap", "get", "coap://127.0.0.1/x", "--block-size", "abc"], "abc" },
        { ["coap", "get", "coap://127.0.0.1/x", "--accept", "nonsense"], "--accept 'nonsense'" },
        { ["coap", "put", "coap://127.0.0.1/x", "--content-format", "70000"], "--content-format '70000'" },
        { ["coap", "put", "coap://127.0.0.1/x", "--payload-file", "/nonexistent/payload.bin"], "Cannot read --payload-file" },
        { ["coap", "put", "coap://127.0.0.1/x", "--payload", "a", "--payload-file", "/etc/hostname"], "exclude each other" },
        { ["coap", "get", "coap://127.0.0.1/x", "--confirmable", "--non"], "exclude each other" },
        { ["coap", "post", "coap://127.0.0.1/x", "--observe", "3"], "--observe works with get only" },
        { ["coap", "get", "coap://127.0.0.1/x", "--observe", "0"], "positive" },
        { ["coap", "get", "coap://127.0.0.1/x", "--timeout", "-1"], "--timeout" },
        { ["serve", "--bogus"], "Unrecognized argument '--bogus'" },
        { ["serve", "--bind", "not-an-address"], "Coap:Bind" },
        { ["serve", "--coap-port", "70000"], "--coap-port '70000' is not a UDP port (0..65535) or off" },
        { ["serve", "--coaps-port", "70000"], "--coaps-port '70000' is not a UDP port (0..65535) or off" },
        { ["serve", "--coaps-port", "none"], "--coaps-port 'none' is not a UDP port (0..65535) or off" },
        { ["serve", "--coap-port", "off", "--http-port", "0", "--Coap:Port=70000"], "Coap:Port 70000" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--Dtls:Port=70000"], "Dtls:Port 70000" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--Dtls:Psk:dev=nothex"], "Dtls:Psk:dev" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--Dtls:CertificateFile=/x.pem"], "Dtls:KeyFile" },
        { ["serve", "--http-port", "abc"], "--http-port 'abc' is not a TCP port (0..65535) or off" },
        { ["serve", "--http-port", "70000"], "--http-port '70000'" },
        { ["serve", "--https-port", "abc"], "--https-port 'abc' is not a TCP port (0..65535) or off" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--Https:Port=70000"], "Https:Port 70000" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--https-port", "0", "--Https:Bind=nowhere"], "Https:Bind 'nowhere'" },
        { ["serve", "--coap-port", "0", "--Http:Port=70000"], "Http:Port 70000" },
        { ["serve", "--coap-port", "0", "--Http:Port=abc"], "Http:Port" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--Http:Bind=nowhere"], "Http:Bind 'nowhere'" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--Http:MaxRequestBodySize=0"], "Http:MaxRequestBodySize" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task UsageError_PrintsOneLineAndExits2(string[] args, string expected)
    {
        var result = await CliRunner.RunAsync(args);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        Assert.Equal(string.Empty, result.Output);
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("coapenroll: error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("requests list")]
    [InlineData("ca rollover")]
    public async Task Help_UsageLineIsBalancedAndNamesConfigurationKeys(string commandLine)
    {
        string[] command = commandLine.Split(' ');
        var result = await CliRunner.RunAsync([.. command, "--help"]);

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        string[] lines = result.Output.Split('\n');
        string usage = lines[Array.FindIndex(lines, l => l.StartsWith("Usage:", StringComparison.Ordinal)) + 1].Trim();
        // In-process the root command is named after the test host, not coapenroll.
        Assert.EndsWith($" {string.Join(' ', command)} [options] [--Key=value ...]", usage, StringComparison.Ordinal);
        Assert.Equal(usage.Count(c => c == '['), usage.Count(c => c == ']'));
        Assert.Contains("--coap-port <PORT|off>", (await CliRunner.RunAsync("serve", "--help")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ExitsZeroAndListsCommands()
    {
        var result = await CliRunner.RunAsync("--help");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Contains("serve", result.Output, StringComparison.Ordinal);
        Assert.Contains("coap", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("approve", "abc")]
    [InlineData("reject", "-3")]
    [InlineData("approve", "0")]
    public async Task RequestId_ThatIsNoNumber_SaysWhatAnIdIs_NotAParserType(string verb, string id)
    {
        var result = await CliRunner.RunAsync("requests", verb, id);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"ID '{id}' is not a request id: the number in the first column of", line, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SilentServer_TimesOutWithOneLineAndExit3()
    {
        // A bound socket nobody reads from: requests vanish without an ICMP error.
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)silent.LocalEndPoint!).Port;

        var result = await CliRunner.RunAsync("coap", "get", $"coap://127.0.0.1:{port}/x", "--timeout", "0.5");

        Assert.True(result.ExitCode == ExitCodes.NoResponse, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("No response from 127.0.0.1:" + port, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResettingServer_ReportsResetWithExit3()
    {
        using var server = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)server.Client.LocalEndPoint!).Port;
        var responder = Task.Run(async () =>
        {
            var received = await server.ReceiveAsync();
            byte[] reset = [0x70, 0x00, received.Buffer[2], received.Buffer[3]]; // Ver 1, RST, TKL 0, code 0.00, same MID.
            await server.SendAsync(reset, received.RemoteEndPoint);
        });

        var result = await CliRunner.RunAsync("coap", "get", $"coap://127.0.0.1:{port}/x", "--timeout", "10");
        await responder;

        Assert.True(result.ExitCode == ExitCodes.NoResponse, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Reset", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnresolvableHost_ExitsWithOneLine()
    {
        var result = await CliRunner.RunAsync("coap", "get", "coap://no-such-host.invalid/x", "--timeout", "5");

        Assert.True(result.ExitCode == ExitCodes.NoResponse, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("no-such-host.invalid", line, StringComparison.Ordinal);
    }
}

using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// PSK identities are opaque strings (RFC 4279 §5.1): <c>serve</c> takes <c>Dtls:Psk:&lt;identity&gt;</c> whatever characters the
/// identity holds (dashes, dots, <c>@</c>) from each configuration source an operator uses — the command line, <c>COAPENROLL_</c>
/// environment variables, appsettings.json in the working directory — and a client presenting that identity and key completes the
/// handshake. Each identity has its own key, so a handshake succeeds only when the server found the key of that identity.
/// </summary>
public class PskIdentityConfigurationTests
{
    private const string DashedKey = "00112233445566778899aabbccddeeff";
    private const string DottedKey = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";

    [Fact]
    public async Task CommandLine_DashedAndDottedIdentities_CompleteTheHandshake()
    {
        const string dashed = "device-7";
        const string dotted = "sensor.42@plant-a.example";
        await using var server = await CliServer.StartAsync($"--Dtls:Psk:{dashed}={DashedKey}", $"--Dtls:Psk:{dotted}={DottedKey}");

        await AssertWhoamiAsync(server.Uri("/whoami"), dashed, DashedKey);
        await AssertWhoamiAsync(server.Uri("/whoami"), dotted, DottedKey);
    }

    [Fact]
    public async Task CommandLine_DashedIdentity_WrongKeyFailsTheHandshake()
    {
        const string dashed = "device-7";
        await using var server = await CliServer.StartAsync($"--Dtls:Psk:{dashed}={DashedKey}");

        // The server drops the Finished it cannot decrypt (RFC 6347 §4.1.2.7), so the client gives up after --timeout.
        var result = await CliRunner.RunAsync("coap", "get", server.Uri("/whoami"), "--psk-identity", dashed, "--psk-key", DottedKey, "--timeout", "3");

        Assert.True(result.ExitCode == ExitCodes.NoResponse, result.Describe());
        Assert.DoesNotContain("psk-identity", result.Output, StringComparison.Ordinal);
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("coapenroll: error: DTLS handshake with 127.0.0.1:", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnvironmentVariables_DashedAndDottedIdentities_CompleteTheHandshake()
    {
        // Only this test uses these identities: a server another test starts meanwhile gets them too, and is not disturbed by them.
        const string dashed = "env-device-7";
        const string dotted = "env.sensor.42@plant-a.example";
        string[] variables = [$"COAPENROLL_Dtls__Psk__{dashed}", $"COAPENROLL_Dtls__Psk__{dotted}"];
        Environment.SetEnvironmentVariable(variables[0], DashedKey);
        Environment.SetEnvironmentVariable(variables[1], DottedKey);
        try
        {
            await using var server = await CliServer.StartAsync();

            await AssertWhoamiAsync(server.Uri("/whoami"), dashed, DashedKey);
            await AssertWhoamiAsync(server.Uri("/whoami"), dotted, DottedKey);
        }
        finally
        {
            foreach (string variable in variables)
            {
                Environment.SetEnvironmentVariable(variable, null);
            }
        }
    }

    [Fact]
    public async Task AppSettingsJsonInTheWorkingDirectory_DashedAndDottedIdentities_CompleteTheHandshake()
    {
        const string dashed = "json-device-7";
        const string dotted = "json.device.8";
        string directory = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "appsettings-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "appsettings.json"),
                $$"""{ "Dtls": { "Psk": { "{{dashed}}": "{{DashedKey}}", "{{dotted}}": "{{DottedKey}}" } } }""");
            await using var server = await ServeProcess.StartAsync(directory);

            await AssertWhoamiAsync(server.Uri("/whoami"), dashed, DashedKey, () => server.Output);
            await AssertWhoamiAsync(server.Uri("/whoami"), dotted, DottedKey, () => server.Output);
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Fact]
    public async Task ListForm_IdentitiesNoKeyCanHold_CompleteTheHandshake_EachWithItsOwnKey()
    {
        // A ':' cannot be in a configuration key, and keys ignore case; as values both work.
        const string urn = "urn:dev:ops:acme-sensor-7";
        await using var server = await CliServer.StartAsync(
            $"--Dtls:PskIdentities:0:Identity={urn}", $"--Dtls:PskIdentities:0:Key={DashedKey}",
            "--Dtls:PskIdentities:1:Identity=Device-7", $"--Dtls:PskIdentities:1:Key={DottedKey}",
            $"--Dtls:Psk:device-7={DashedKey}");

        await AssertWhoamiAsync(server.Uri("/whoami"), urn, DashedKey);
        await AssertWhoamiAsync(server.Uri("/whoami"), "Device-7", DottedKey);
        await AssertWhoamiAsync(server.Uri("/whoami"), "device-7", DashedKey);
    }

    [Theory]
    [InlineData("--Dtls:PskIdentities:0:Key=00", "Dtls:PskIdentities:0:Identity is missing")]
    [InlineData("--Dtls:PskIdentities:0:Identity=x", "Dtls:PskIdentities:0:Key is not a key in hex")]
    [InlineData("--Dtls:PskIdentities:0:Identity=device-7 --Dtls:PskIdentities:0:Key=01", "Dtls:PskIdentities:0:Identity 'device-7' is configured twice")]
    public async Task ListForm_BadEntry_StopsServeWithOneLine(string arguments, string message)
    {
        string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", Guid.NewGuid().ToString("N"));
        var result = await CliRunner.RunAsync(
            ["serve", "--bind", "127.0.0.1", "--coap-port", "0", "--http-port", "0", "--https-port", "0", "--coaps-port", "off", "--data", data, "--Dtls:Psk:device-7=00", .. arguments.Split(' ')]);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    private static async Task AssertWhoamiAsync(string uri, string identity, string key, Func<string>? serverOutput = null)
    {
        var result = await CliRunner.RunAsync("coap", "get", uri, "--psk-identity", identity, "--psk-key", key, "--timeout", "20");

        string describe = result.Describe() + (serverOutput is null ? string.Empty : $"{Environment.NewLine}--- serve ---{Environment.NewLine}{serverOutput()}");
        Assert.True(result.ExitCode == ExitCodes.Success, describe);
        Assert.True(result.Output.Contains("authentication: psk", StringComparison.Ordinal), describe);
        Assert.True(result.Output.Contains($"psk-identity: {identity}", StringComparison.Ordinal), describe);
    }
}

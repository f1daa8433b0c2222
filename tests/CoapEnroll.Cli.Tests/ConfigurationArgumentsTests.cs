using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// The tokens <c>serve</c> and <c>requests</c> hand to the configuration as <c>[--|/]Section:Key=value</c>: a key segment may hold
/// any character but ':' and '=' (PSK identities are opaque strings, RFC 4279 §5.1), while anything else stays a usage error.
/// </summary>
public class ConfigurationArgumentsTests
{
    public static TheoryData<string> Keys => new()
    {
        "--A:b-c=1",
        "/A:b.c=1",
        "--Dtls:Psk:a@b=00",
        "--Dtls:Psk:sensor.42@plant-a.example=00",
        "--Dtls:Psk:-leading-dash=00",
        "--Coap:Port=5683",
        "Coap:Port=5683",
        "--Est:PendingRetryAfter=00:00:30",
        "--Logging:LogLevel:Default=",
    };

    public static TheoryData<string> NotKeys => new()
    {
        "--bogus",
        "-x=1",
        "---port=1",
        "=value",
        "--=1",
        "/=1",
        "--:b=1",
        "--A:=1",
        "--A::b=1",
        "//A=1",
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public void Key_IsAccepted(string token) => ConfigurationArguments.ThrowOnUnrecognized([token], "serve");

    [Theory]
    [MemberData(nameof(NotKeys))]
    public void NotAKey_IsAUsageErrorNamingIt(string token)
    {
        var ex = Assert.Throws<CliException>(() => ConfigurationArguments.ThrowOnUnrecognized(["--Coap:Port=5683", token], "serve"));

        Assert.Equal(ExitCodes.Usage, ex.ExitCode);
        Assert.Equal($"Unrecognized argument '{token}' for serve (configuration keys are written --Key=value).", ex.Message);
    }

    public static TheoryData<string, string> CommandsAndNotKeys()
    {
        var data = new TheoryData<string, string>();
        foreach (string command in new[] { "serve", "requests list", "requests approve 1", "requests reject 1" })
        {
            foreach (string token in new[] { "--bogus", "-x=1", "---port=1", "=value" })
            {
                data.Add(command, token);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CommandsAndNotKeys))]
    public async Task Command_NotAKey_ExitsWithOneLineAnd2(string command, string token)
    {
        string[] args = [.. command.Split(' '), "--data", NoSuchDirectory(), token];

        await CliAssert.FailsAsync(ExitCodes.Usage, [$"Unrecognized argument '{token}' for {command.Split(' ')[0]}"], args);
    }

    public static TheoryData<string> AcceptedByTheCommands => new() { "--A:b-c=1", "/A:b.c=1", "--Dtls:Psk:a@b=00" };

    [Theory]
    [MemberData(nameof(AcceptedByTheCommands))]
    public async Task Serve_TakesTheKey_AndGoesOnToCheckTheSettings(string token)
    {
        // A bad port (as a configuration key: --coap-port's own value is checked by the parser) is reported only after the
        // arguments passed: the key reached the configuration.
        string line = await CliAssert.FailsAsync(ExitCodes.Usage, ["Coap:Port 70000"],
            ["serve", "--data", NoSuchDirectory(), "--Coap:Port=70000", "--http-port", "0", token, "--Logging:LogLevel:Default=None"]);

        Assert.DoesNotContain("Unrecognized", line, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(AcceptedByTheCommands))]
    public async Task Requests_TakesTheKey_AndGoesOnToOpenTheStore(string token)
    {
        string data = NoSuchDirectory();

        string line = await CliAssert.FailsAsync(ExitCodes.Usage, ["No certificate store", data], ["requests", "list", "--data", data, token]);

        Assert.DoesNotContain("Unrecognized", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Ca:Profiles:default:NamePolicy=AnyNme", "NamePolicy")]
    [InlineData("--Ca:Profiles:lab:SubjectAltNames=Rejct", "SubjectAltNames")]
    [InlineData("--Ca:Profiles:default:NamePolicyy=AnyName", "NamePolicyy")]
    public async Task Serve_RefusesAProfileSettingItCannotRead_BeforeCreatingAnything(string token, string key)
    {
        // The configuration binder alone would drop the profile, and the built-in default would issue in its place.
        string data = NoSuchDirectory();
        await CliAssert.FailsAsync(ExitCodes.Usage, ["Ca:Profiles:", key], ["serve", "--data", data, "--http-port", "0", token, "--Logging:LogLevel:Default=None"]);
        Assert.False(Directory.Exists(data));
    }

    private static string NoSuchDirectory() => Path.Combine(Path.GetTempPath(), "coapenroll-tests", "none-" + Guid.NewGuid().ToString("N"));
}

using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cli.Tests.Interop;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary><c>coap-client-notls</c> run with <c>-v 7</c>, so that the test sees every message it exchanged (<see cref="BolPdu"/>).</summary>
public static class BolLibCoap
{
    /// <summary>Runs the client (its own wait limit <paramref name="waitSeconds"/>) and returns what it did and the messages it logged.</summary>
    public static async Task<(ProcessResult Result, IReadOnlyList<BolPdu> Messages)> RunAsync(int waitSeconds, params string[] arguments)
    {
        ProcessResult result = await LibCoap.RunClientAsync(waitSeconds, ["-v", "7", .. arguments]);
        return (result, BolPdu.ParseAll(result.StandardOutput + "\n" + result.StandardError));
    }

    /// <summary>The responses the server sent (piggybacked, separate and notifications), in order.</summary>
    public static IReadOnlyList<BolPdu> ServerResponses(IReadOnlyList<BolPdu> messages) => [.. messages.Where(m => m.IsResponse)];
}

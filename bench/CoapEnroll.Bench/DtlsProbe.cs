using System.Diagnostics;
using System.Net;
using CoapEnroll.Dtls;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Bench;

internal static class DtlsProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        HandshakeKind kind = args.Length > 1 ? Enum.Parse<HandshakeKind>(args[1], ignoreCase: true) : HandshakeKind.Ecdhe;
        using DtlsTestCredentials credentials = DtlsTestCredentials.Create();
        using var loggers = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace));
        DtlsServerOptions serverOptions = credentials.ServerOptions();
        bool log = args.Contains("log");
        if (log)
        {
            serverOptions.LoggerFactory = loggers;
        }

        await using DtlsServerChannel server = DtlsHandshakeMode.CreateServer(serverOptions);
        var address = (IPEndPoint)server.LocalEndPoint;
        DtlsClientOptions options = credentials.ClientOptions(kind);
        if (log)
        {
            options.LoggerFactory = loggers;
        }
        for (int i = 0; i < 5; i++)
        {
            var sw = Stopwatch.StartNew();
            DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(address, options, CancellationToken.None);
            double connect = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            await client.DisposeAsync();
            Console.WriteLine($"connect {connect:F1} ms, dispose {sw.Elapsed.TotalMilliseconds:F1} ms, server connections {server.ConnectionCount}");
        }

        return 0;
    }
}

using BenchmarkDotNet.Running;

namespace CoapEnroll.Bench;

internal static class Program
{
    // BenchmarkDotNet:  dotnet run -c Release --project bench/CoapEnroll.Bench -- --filter '*'
    // Console modes:    dotnet run -c Release --project bench/CoapEnroll.Bench -- <mode> [args]   (see bench/REPORT.md)
    public static async Task<int> Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "dtls-memory":
                return await DtlsMemoryMode.RunServerAsync(args);
            case "dtls-clients":
                return await DtlsMemoryMode.RunClientsAsync(args);
            case "dtls-handshakes":
                return await DtlsHandshakeMode.RunAsync(args);
            case "coap-server":
                return await CoapCompareMode.RunServerAsync(args);
            case "coap-compare":
                return await CoapCompareMode.RunAsync(args);
            case "serve-load":
                return await ServeLoadMode.RunAsync(args);
            case "sen-cost":
                return await SenCostMode.RunAsync(args);
            case "cmp-ir":
                return await CmpIrMode.RunAsync(args);
            case "dedup-memory":
                return await DeduplicationMemoryMode.RunAsync(args);
            case "dtls-data":
                return await DtlsDataMode.RunAsync(args);
            case "dtls-probe":
                return await DtlsProbe.RunAsync(args);
            case "wire-enroll":
                return await WireEnrollMode.RunAsync(args);
            case "enroll-scale":
                return await EnrollScaleMode.RunAsync(args);
            case "nodes-scale":
                return await NodesScaleMode.RunAsync(args);
            case "registrar-cost":
                return await RegistrarCostMode.RunAsync(args);
            case "load":
                return await LoadMode.RunAsync(args);
            case "fleet":
                return await FleetMode.RunAsync(args);
            case "loop":
                return HotLoopMode.Run(args);
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                return 0;
        }
    }
}

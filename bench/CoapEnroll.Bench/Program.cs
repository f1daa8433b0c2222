using BenchmarkDotNet.Running;

namespace CoapEnroll.Bench;

internal static class Program
{
    // dotnet run -c Release --project bench/CoapEnroll.Bench -- --filter '*'
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}

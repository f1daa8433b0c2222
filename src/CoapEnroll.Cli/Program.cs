namespace CoapEnroll.Cli;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl-C ends the command gracefully (serve stops, observe deregisters); a second one kills.
            e.Cancel = !cancellation.IsCancellationRequested;
            cancellation.Cancel();
        };

        return await CliApplication.RunAsync(args, Console.Out, Console.Error, cancellation.Token);
    }
}

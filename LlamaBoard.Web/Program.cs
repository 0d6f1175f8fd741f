using LlamaBoard.Web;
using LlamaBoard.Web.Components;

var builder = WebApplication.CreateBuilder(args);
builder.AddLlamaBoard();

var app = builder.Build();
app.UseLlamaBoard();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
app.Run();

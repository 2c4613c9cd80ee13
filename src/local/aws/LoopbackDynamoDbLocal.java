/*
 * Starts AWS's DynamoDB Local bound to 127.0.0.1 (its command line has no bind-address option: it listens on
 * every interface), and exits as soon as its standard input closes, which happens when the Node process
 * that spawned it ends in any way, SIGKILL included. Run by src/local/aws/servers.ts in Java's source-file
 * mode (`java -cp DynamoDBLocal.jar LoopbackDynamoDbLocal.java -inMemory -port N ...`), so nothing is
 * compiled at install time. Arguments are DynamoDB Local's own.
 */
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDbLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    int bound = 0;
    for (Connector connector : server.getConnectors()) {
      if (connector instanceof ServerConnector) {
        ((ServerConnector) connector).setHost("127.0.0.1");
        bound++;
      }
    }
    if (bound == 0) {
      System.err.println("LoopbackDynamoDbLocal: no Jetty ServerConnector found; refusing to listen on every interface");
      System.exit(3);
    }
    proxy.start();
    System.out.println("LoopbackDynamoDbLocal: listening on 127.0.0.1");
    System.out.flush();
    // The parent holds the other end of stdin: end of input means it is gone, so are we.
    while (System.in.read() != -1) {
      // ignore anything written
    }
    Runtime.getRuntime().halt(0);
  }
}

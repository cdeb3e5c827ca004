import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;

/** Marker appends one line to args[0]/args[1] and succeeds: how often it ran is how often the file grew. */
public class Marker {
  public static void main(String[] args) throws Exception {
    Files.write(Paths.get(args[0], args[1]), "ran\n".getBytes(),
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    System.out.println("marker: ran");
  }
}

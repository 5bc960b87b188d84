package io.flotilla.engine.node;

import java.text.MessageFormat;
import java.util.MissingResourceException;
import java.util.ResourceBundle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the JDK's platform logging ({@link System.Logger}, which the runtime, the log and the
 * transport use) to SLF4J, so a node's logs all come out the same way: one levelled line each
 * (logback.xml), instead of java.util.logging's two-line default. Registered as a service in
 * {@code META-INF/services}; the JDK loads it once. Stateless; any thread.
 */
public final class Slf4jLoggerFinder extends System.LoggerFinder {
    @Override
    public System.Logger getLogger(String name, Module module) {
        return new Adapter(LoggerFactory.getLogger(name));
    }

    /** One logger; any thread. */
    private static final class Adapter implements System.Logger {
        private final Logger logger;

        Adapter(Logger logger) {
            this.logger = logger;
        }

        @Override
        public String getName() {
            return logger.getName();
        }

        @Override
        public boolean isLoggable(Level level) {
            switch (level) {
                case ALL:
                case TRACE:
                    return logger.isTraceEnabled();
                case DEBUG:
                    return logger.isDebugEnabled();
                case INFO:
                    return logger.isInfoEnabled();
                case WARNING:
                    return logger.isWarnEnabled();
                case ERROR:
                    return logger.isErrorEnabled();
                default:
                    return false;
            }
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            if (isLoggable(level)) {
                emit(level, localized(bundle, msg), thrown);
            }
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            if (isLoggable(level)) {
                String pattern = localized(bundle, format);
                emit(level, params == null || params.length == 0 ? pattern : MessageFormat.format(pattern, params), null);
            }
        }

        private static String localized(ResourceBundle bundle, String msg) {
            if (bundle == null || msg == null) {
                return msg;
            }
            try {
                return bundle.getString(msg);
            } catch (MissingResourceException e) {
                return msg;
            }
        }

        private void emit(Level level, String msg, Throwable thrown) {
            switch (level) {
                case ALL:
                case TRACE:
                    logger.trace(msg, thrown);
                    break;
                case DEBUG:
                    logger.debug(msg, thrown);
                    break;
                case INFO:
                    logger.info(msg, thrown);
                    break;
                case WARNING:
                    logger.warn(msg, thrown);
                    break;
                case ERROR:
                    logger.error(msg, thrown);
                    break;
                default:
                    break;
            }
        }
    }
}
